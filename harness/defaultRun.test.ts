/**
 * The default run: what its plan covers, that it keeps its budget, the CLI around it, and
 * its kill rate against the whole fault catalog on the emulated kernel (docs/default-run.md).
 *
 * Kill rate: each fault is its own default invocation (the plan of `moe-harness check
 * --kernel emulated --fault F` at the default budget and seed, 3 runs per tactic). A fault
 * is killed when some record of its invocation is not passed; since that is decided by the
 * first such record, each invocation stops there (the verdict is the same as running the
 * whole plan). The correct kernel must pass every case up to the last one that killed a
 * fault, so no kill is a false alarm.
 */
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOGIT_FAMILIES, SCALE_FAMILIES, type Case, type Fp4Weights } from '../reference/case.js';
import { generateCase } from '../reference/generate.js';
import { QUANT_MODES, ROUTING_METHODS, weightBlock, type Problem } from '../reference/problem.js';
import { routingMethod } from '../reference/routing/registry.js';
import { routingInputFromCase } from '../reference/routing/routingInput.js';
import { openCampaignSession, runOneCase, type CaseRecord } from './campaign.js';
import { caseMix, SCENARIOS } from './caseMix.js';
import { POISON } from './caseRunner.js';
import { InlineRunner } from './inlineRunner.js';
import { EmulatedKernel, type EmulatedHandle } from './kernels/emulated.js';
import type { KernelUnderTest, Observed, RunOptions, Tactic } from './kernels/kernel.js';
import type { ProviderDescription, TacticList } from './kernels/provider.js';
import { KERNEL_KINDS } from './kernels/select.js';
import { caseCostModel, estimateCaseMs, weightElements } from './caseCost.js';
import { main } from './cli.js';
import { coverageLine, DEFAULT_BUDGET_S, DEFAULT_RUN_REPEATS, planDefaultRun, type PlannedCase } from './defaultRun.js';
import { FAULT_NAMES, type FaultName } from './faults.js';
import { emulatedTactics } from './kernels/emulatedTactics.js';
import type { ReferenceCache } from './referenceFor.js';
import { testProblem } from '../reference/testing/testProblem.js';

const SEED = Number(process.env.MOE_HARNESS_SEED ?? 1);
const nativePlan = planDefaultRun({ seed: SEED, budgetS: DEFAULT_BUDGET_S, kernel: 'native' });
const emulatedPlan = planDefaultRun({ seed: SEED, budgetS: DEFAULT_BUDGET_S, kernel: 'emulated' });

function io(): { out: string[]; err: string[]; io: { out: (s: string) => void; err: (s: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s) => out.push(s), err: (s) => err.push(s) } };
}

test('the plan is deterministic from its seed, budget and kernel kind, and keeps its budget', (t) => {
  t.deepEqual(planDefaultRun({ seed: SEED, budgetS: DEFAULT_BUDGET_S, kernel: 'native' }), nativePlan);
  t.notDeepEqual(planDefaultRun({ seed: SEED + 1, budgetS: DEFAULT_BUDGET_S, kernel: 'native' }).cases.map((c) => c.spec), nativePlan.cases.map((c) => c.spec));
  for (const plan of [nativePlan, emulatedPlan]) {
    t.is(plan.options.repeats, DEFAULT_RUN_REPEATS);
    t.true(DEFAULT_RUN_REPEATS >= 3);
    t.true(plan.estimateMs <= DEFAULT_BUDGET_S * 1000);
    const model = caseCostModel(plan.options.kernel);
    const sum = plan.cases.reduce((a, c) => a + c.estimateMs, model.constants.startupMs);
    t.true(Math.abs(sum - plan.estimateMs) < 1e-6);
    for (const c of plan.cases) t.is(c.estimateMs, estimateCaseMs(model, c.spec.problem, 3));
    t.is(plan.options.referencePrecision, 'float32');
  }
  // A larger budget keeps every case of a smaller one (same order) and adds to it.
  const big = planDefaultRun({ seed: SEED, budgetS: 3 * DEFAULT_BUDGET_S, kernel: 'emulated' });
  const bigSpecs = big.cases.map((c) => JSON.stringify(c.spec));
  const covered = emulatedPlan.cases.filter((c) => c.section !== 'extra').map((c) => JSON.stringify(c.spec));
  t.true(covered.every((s) => bigSpecs.includes(s)));
  t.true(big.cases.length > emulatedPlan.cases.length);
});

test('the default plan covers every method × logit family, every quant × scale pair, E >= 128, a full SPEC §6 configuration, medium shapes on every tactic', (t) => {
  const cases = nativePlan.cases;
  for (const m of ROUTING_METHODS) {
    for (const l of LOGIT_FAMILIES) t.true(cases.some((c) => c.spec.problem.routing.method === m && c.spec.logitFamily === l), `${m} × ${l}`);
  }
  for (const q of QUANT_MODES) {
    for (const s of SCALE_FAMILIES) t.true(cases.some((c) => c.spec.problem.quantMode === q && c.spec.scaleFamily === s), `${q} × ${s}`);
  }
  // deepseek_v3 grouped and flat with every family; fp32 and bf16 logits for every method.
  for (const l of LOGIT_FAMILIES) {
    t.true(cases.some((c) => c.spec.problem.routing.method === 'deepseek_v3' && (c.spec.problem.routing.nGroup ?? 1) > 1 && c.spec.logitFamily === l), `deepseek_v3 grouped × ${l}`);
    t.true(cases.some((c) => c.spec.problem.routing.method === 'deepseek_v3' && c.spec.problem.routing.nGroup === 1 && c.spec.logitFamily === l), `deepseek_v3 flat × ${l}`);
  }
  for (const m of ROUTING_METHODS) {
    for (const d of ['float32', 'bfloat16'] as const) t.true(cases.some((c) => c.spec.problem.routing.method === m && c.spec.problem.logitsDtype === d), `${m} ${d} logits`);
  }
  t.true(cases.some((c) => c.spec.problem.routing.method === 'renormalize' && c.spec.logitFamily === 'huge'), 'huge logits under renormalize');
  // More than 64 local experts: at least one case with >= 128, grouped deepseek_v3 at 256.
  const many = cases.filter((c) => c.spec.problem.localExperts >= 128);
  t.true(many.length >= 3);
  t.true(many.some((c) => c.spec.problem.E === 256 && c.spec.problem.routing.nGroup === 8));
  t.true(many.some((c) => c.spec.problem.localOffset > 0));
  // A SPEC §6 configuration at full expert count, small T, weights far below 4 GiB.
  const full = cases.filter((c) => c.section === 'spec_config');
  t.is(full.length, 1);
  const p = full[0]!.spec.problem;
  t.is(p.name, 'qwen3-30b-a3b');
  t.is(p.localExperts, p.E);
  t.is(p.E, 128);
  t.true(p.T <= 16);
  t.true(weightElements(p) * (0.5 + 1 / weightBlock(p.quantMode)) < 2 ** 30);
  // Medium shapes on which every tactic is enumerated: all 14 of the emulated kernel, and the
  // native rules (config 1: I >= 64, H >= 128; config 2: I >= 512; tile 128 useful: T > 64).
  const medium = cases.filter((c) => c.section === 'medium_tactics');
  t.true(medium.length >= 3);
  t.deepEqual(new Set(medium.map((c) => c.spec.problem.quantMode)), new Set(QUANT_MODES));
  for (const c of medium) {
    const q = c.spec.problem;
    t.is(emulatedTactics(q).length, 14, `every emulated tactic on ${q.T}/${q.H}/${q.I}`);
    t.true(q.I >= 512 && q.H >= 128 && q.T > 128);
  }
  t.is(cases.filter((c) => c.section === 'fault_scenarios').length, SCENARIOS.length);
  t.true(cases.filter((c) => c.section === 'extra').length > 0);
  t.is(nativePlan.skipped.length, 0);
});

/** Whether some token of the case has an exact tie between groups at the keep boundary. */
function exactGroupTieAtBoundary(c: PlannedCase): boolean {
  const cs = generateCase(c.spec);
  const method = routingMethod(c.spec.problem.routing.method);
  const input = routingInputFromCase(cs);
  for (let tok = 0; tok < c.spec.problem.T; tok++) {
    const g = method.tokenScores(input, tok).groups;
    if (g === null) return false;
    const s = Array.from(g.scores).sort((a, b) => b - a);
    if (s[g.keep - 1] === s[g.keep]) return true;
  }
  return false;
}

test('the plan holds deepseek_v3 rows with exact ties between groups at the keep boundary (small and 256 experts)', (t) => {
  const grouped = nativePlan.cases.filter((c) => c.spec.problem.routing.method === 'deepseek_v3' && (c.spec.problem.routing.nGroup ?? 1) > 1
    && c.spec.logitFamily === 'ties' && c.section !== 'medium_tactics');
  const tied = grouped.filter(exactGroupTieAtBoundary);
  t.true(tied.some((c) => c.spec.problem.E <= 16), 'a small grouped case');
  t.true(tied.some((c) => c.spec.problem.E === 256), 'the 256-expert case');
});

test('a small budget keeps coverage first and names what it skipped; a bad budget names --budget', (t) => {
  const plan = planDefaultRun({ seed: SEED, budgetS: 5, kernel: 'emulated' });
  t.true(plan.estimateMs <= 5000);
  t.true(plan.cases.slice(0, SCENARIOS.length).every((c) => c.section === 'fault_scenarios'));
  t.true(plan.skipped.length > 0);
  const line = coverageLine(plan);
  t.regex(line, /^default run: \d+ cases, est\. [\d.]+ s of a 5 s budget \(emulated cost model\), each tactic run 3× on identical inputs — fault scenarios \d+, /);
  t.regex(line, /SKIPPED \(over budget\): .*SPEC §6 qwen3-30b-a3b/);
  t.throws(() => planDefaultRun({ seed: SEED, budgetS: 0, kernel: 'emulated' }), { message: /^--budget: expected seconds > 0, got 0/ });
  const f64 = planDefaultRun({ seed: SEED, budgetS: DEFAULT_BUDGET_S, kernel: 'native', referencePrecision: 'float64' });
  t.true(f64.estimateMs <= DEFAULT_BUDGET_S * 1000);
  t.regex(coverageLine(f64), /\(native cost model, float64 reference\)/);
  t.throws(() => planDefaultRun({ seed: SEED, budgetS: 5, kernel: 'emulated', repeats: 1 }), { message: /^repeats: expected an integer >= 2, got 1/ });
  const nML = ROUTING_METHODS.length * LOGIT_FAMILIES.length;
  t.regex(coverageLine(nativePlan), new RegExp(`routing × logits ${nML}/${nML} \\(6 methods\\), `));
  t.regex(coverageLine(nativePlan), /quant × scales 15\/15, E ≥ 128 local: 5 \(max 256 local\), medium on every tactic: 3, SPEC §6 full: qwen3-30b-a3b E=128 T=8, extra random \d+$/);
});

test('check: the default run prints its coverage line; --runs n is still exactly n mix cases; --budget only for the default run', async (t) => {
  const a = io();
  t.is(await main(['check', '--kernel', 'emulated', '--budget', '2', '--isolation', 'inline', '--quiet', '--report', mkdtempSync(join(tmpdir(), 'moe-dr-'))], a.io), 0, a.out.join('\n'));
  t.regex(a.err.join('\n'), /^default run: \d+ cases, est\. [\d.]+ s of a 2 s budget \(emulated cost model\), each tactic run 3× on identical inputs — /m);
  t.regex(a.out.join('\n'), /^\(default run: [\d.]+ s; the plan estimated [\d.]+ s of a 2 s budget\)$/m);
  const b = io();
  t.is(await main(['check', '--kernel', 'emulated', '--runs', '2', '--isolation', 'inline', '--quiet', '--report', mkdtempSync(join(tmpdir(), 'moe-dr-'))], b.io), 0);
  t.regex(b.err.join('\n'), /kernel emulated, 2 cases, seed 1/);
  t.notRegex(b.err.join('\n'), /default run:/);
  const bad: Array<[string[], RegExp]> = [
    [['check', '--kernel', 'emulated', '--budget', '5', '--runs', '2'], /--budget: expected only for the default run \(without --runs, .*\), got --budget with --runs/],
    [['check', '--kernel', 'emulated', '--budget', '0'], /--budget: expected seconds > 0, got 0/],
    [['check', '--kernel', 'emulated', '--budget', 'soon'], /--budget: expected a number >= 0, got "soon"/],
    [['check', '--kernel', 'emulated', '--repeats', '1'], /--repeats: expected an integer >= 2, got "1"/],
    [['check', '--kernel', 'emulated', '--generator', 'property', '--repeats', '3'], /--repeats: expected no such option with --generator property/],
    [['replay', '--case', '{}', '--repeats', '1'], /--repeats: expected an integer >= 2, got "1"/],
  ];
  for (const [argv, re] of bad) {
    const c = io();
    t.is(await main(argv, c.io), 2, argv.join(' '));
    t.regex(c.err.join('\n'), re, argv.join(' '));
  }
});

interface Kill {
  readonly fault: FaultName;
  /** Index of the first case with a record not passed, or -1. */
  readonly index: number;
  readonly record?: CaseRecord;
}

test(`kill rate of one default invocation per fault on the emulated kernel: every fault of the catalog (seed ${SEED})`, async (t) => {
  const cases = emulatedPlan.cases;
  const cache: ReferenceCache = new Map();
  const kills: Kill[] = [];
  for (const fault of FAULT_NAMES) {
    const session = await openCampaignSession({ kernel: { kind: 'emulated', fault }, isolation: 'inline', referenceCache: cache, repeats: emulatedPlan.options.repeats });
    let kill: Kill = { fault, index: -1 };
    try {
      for (const [i, c] of cases.entries()) {
        const bad = (await session.run({ spec: c.spec })).find((r) => r.disposition !== 'passed');
        if (bad) {
          kill = { fault, index: i, record: bad };
          break;
        }
      }
    } finally {
      await session.close();
    }
    kills.push(kill);
  }
  // No kill is a false alarm: the correct kernel passes every case up to the last kill.
  const last = Math.max(...kills.map((k) => k.index));
  const good = await openCampaignSession({ kernel: { kind: 'emulated' }, isolation: 'inline', referenceCache: cache, repeats: emulatedPlan.options.repeats });
  try {
    for (const c of cases.slice(0, last + 1)) {
      const bad = (await good.run({ spec: c.spec })).filter((r) => r.disposition !== 'passed');
      t.deepEqual(bad.map((r) => `${r.problem} ${r.tactic}: ${r.verdict.lines[0]}`), []);
    }
  } finally {
    await good.close();
  }
  const killed = kills.filter((k) => k.index >= 0);
  t.log(`kill rate ${killed.length}/${kills.length} (${cases.length} planned cases, ${DEFAULT_BUDGET_S} s budget, repeats ${emulatedPlan.options.repeats}):`);
  for (const k of kills) {
    t.log(k.index < 0 ? `  ${k.fault}: SURVIVED` : `  ${k.fault}: killed by case ${k.index} (${cases[k.index]!.section}: ${cases[k.index]!.why}), tactic ${k.record!.tactic}: ${k.record!.verdict.findings[0]?.kind}`);
  }
  t.deepEqual(kills.filter((k) => k.index < 0).map((k) => k.fault), [], 'faults that survived the default run');
});

test('the cost model: estimates grow with weights, MACs and repeats; native counts every tactic', (t) => {
  const base: Problem = testProblem({ T: 64, H: 256, I: 512, E: 32, topK: 4, localExperts: 32 });
  for (const kind of ['native', 'emulated'] as const) {
    const m = caseCostModel(kind);
    const e = (p: Partial<Problem>, r = 3): number => estimateCaseMs(m, { ...base, ...p }, r);
    t.true(e({}) > 0);
    t.true(e({ E: 64, localExperts: 64 }) > e({}));
    t.true(e({ T: 128 }) > e({}));
    t.true(e({}, 4) > e({}, 2));
    t.true(estimateCaseMs(m, base, 3, 'float64') > estimateCaseMs(m, base, 3, 'float32'));
    t.true(m.source.length > 0);
  }
  t.is(caseCostModel('native').tactics(base), 15);
  // Every kind of the registry has a cost model (the default run plans for any --kernel); an unknown kind is refused.
  for (const kind of KERNEL_KINDS) t.true(caseCostModel(kind).source.length > 0, kind);
  t.regex(caseCostModel('cmd').source, /process door/);
  t.throws(() => caseCostModel('gpu'), { message: /^kernel: expected a kernel kind with a cost model \(emulated, native, lib, cmd\), got "gpu"/ });
  t.is(caseCostModel('emulated').tactics(base), emulatedTactics(base).length);
});

/** The emulated kernel, except that the third run of every tactic flips one output bit (a rare race). */
class ThirdRunFlips implements KernelUnderTest<EmulatedHandle> {
  readonly inner = new EmulatedKernel();
  readonly name = 'emulated+third-run-flips';
  readonly poisons = new Map<string, number[]>();
  describe(): Promise<ProviderDescription> { return this.inner.describe(); }
  tactics(p: Problem): Promise<TacticList> { return this.inner.tactics(p); }
  prepare(c: Parameters<EmulatedKernel['prepare']>[0]): Promise<EmulatedHandle> { return this.inner.prepare(c); }
  async run(h: EmulatedHandle, t: Tactic, o: RunOptions): Promise<Observed> {
    const seen = this.poisons.get(t.label) ?? this.poisons.set(t.label, []).get(t.label)!;
    seen.push(o.poison);
    const r = await this.inner.run(h, t, o);
    if (seen.length % 3 !== 0) return r;
    const output = r.output.slice();
    output[0] = output[0]! ^ 1;
    return { ...r, output };
  }
  inputsDigest(h: EmulatedHandle): Promise<string> { return this.inner.inputsDigest(h); }
  release(h: EmulatedHandle): Promise<void> { return this.inner.release(h); }
  close(): Promise<void> { return this.inner.close(); }
}

test('repeats: every tactic runs n times with alternating poison; a difference in the third run only is caught with 3 runs, missed with 2', async (t) => {
  const spec = nativePlan.cases[0]!.spec;
  const judge = async (repeats: number): Promise<{ records: CaseRecord[]; kernel: ThirdRunFlips }> => {
    const kernel = new ThirdRunFlips();
    const runner = new InlineRunner(kernel as KernelUnderTest, repeats);
    const records = await runOneCase(0, { spec }, runner, { kernel: { kind: 'emulated' }, repeats });
    return { records, kernel };
  };
  const two = await judge(2);
  t.true(two.records.every((r) => r.disposition === 'passed'));
  const three = await judge(3);
  t.true(three.records.length > 0 && three.records.every((r) => r.disposition === 'incorrect'));
  t.true(three.records.every((r) => r.verdict.counts.nondeterministic === 1));
  t.regex(three.records[0]!.verdict.lines[0]!, /^out\[t=0,h=0\]=.* in run 3, reference .* in run 1 \(output differs between runs on identical inputs \(3 runs\)/);
  for (const seen of three.kernel.poisons.values()) t.deepEqual(seen, [POISON[0], POISON[1], POISON[0]]);
  t.throws(() => new InlineRunner(new EmulatedKernel() as KernelUnderTest, 1), { message: /^repeats: expected an integer >= 2/ });
});

/**
 * Latent bugs the old default run (24 small cases of the scenario mix, E <= 16, T <= 64,
 * 2 runs per tactic) cannot see, as wrappers around the emulated kernel. Each is the
 * identity wherever its trigger does not hold.
 */
type Wrap = (c: Case) => Case;
class LatentBug implements KernelUnderTest<EmulatedHandle> {
  readonly inner = new EmulatedKernel();
  private readonly runsOf = new Map<string, number>();
  constructor(readonly name: string, private readonly wrapCase: Wrap, private readonly wrapRun: (h: EmulatedHandle, t: Tactic, run: number, r: Observed) => Observed) {}
  describe(): Promise<ProviderDescription> { return this.inner.describe(); }
  tactics(p: Problem): Promise<TacticList> { return this.inner.tactics(p); }
  prepare(c: Case): Promise<EmulatedHandle> { return this.inner.prepare(this.wrapCase(c)); }
  async run(h: EmulatedHandle, t: Tactic, o: RunOptions): Promise<Observed> {
    const run = this.runsOf.get(t.label) ?? 0;
    this.runsOf.set(t.label, run + 1);
    return this.wrapRun(h, t, run, await this.inner.run(h, t, o));
  }
  inputsDigest(h: EmulatedHandle): Promise<string> { return this.inner.inputsDigest(h); }
  release(h: EmulatedHandle): Promise<void> { return this.inner.release(h); }
  close(): Promise<void> { return this.inner.close(); }
}

/** Local experts >= 64 read the tables (weights, scales, scalars) of expert l mod 64: a 64-entry expert table. */
function expertTableOf64(c: Case): Case {
  const p = c.spec.problem;
  const El = p.localExperts;
  if (El <= 64) return c;
  const remap = (w: Fp4Weights, _rows: number, _cols: number): Fp4Weights => {
    const packed = w.packed.relayout();
    const scales = w.scales.relayout();
    const globalScale = w.globalScale.slice();
    for (let l = 64; l < El; l++) {
      packed.expert(l).set(packed.expert(l % 64));
      scales.expert(l).set(scales.expert(l % 64));
      globalScale[l] = globalScale[l % 64]!;
    }
    return { packed, scales, globalScale };
  };
  const per = (a: Float32Array): Float32Array => Float32Array.from(a, (v, l) => (l >= 64 ? a[l % 64]! : v));
  return {
    ...c, fc1: remap(c.fc1, 2 * p.I, p.H), fc2: remap(c.fc2, p.H, p.I),
    out1Scale: per(c.out1Scale), out1GateScale: per(c.out1GateScale), out2Scale: per(c.out2Scale),
    swiglu: c.swiglu ? { alpha: per(c.swiglu.alpha), beta: per(c.swiglu.beta), limit: per(c.swiglu.limit) } : null,
  };
}

/** renormalize's softmax over the chosen logits without subtracting the max: exp overflows past |x| > 88. */
function softmaxWithoutMax(h: EmulatedHandle, _t: Tactic, _run: number, r: Observed): Observed {
  const p = h.c.spec.problem;
  if (p.routing.method !== 'renormalize') return r;
  const { T, E, topK: k, H } = p;
  const logits = h.input.logits;
  const output = r.output.slice();
  const weights = r.weights.slice();
  for (let t = 0; t < T; t++) {
    const ex: number[] = [];
    for (let j = 0; j < k; j++) ex.push(Math.fround(Math.exp(logits[t * E + r.ids[t * k + j]!]!)));
    const sum = ex.reduce((a, b) => Math.fround(a + b), 0);
    if (Number.isFinite(sum) && sum > 0) continue; // the naive softmax works on this row
    for (let j = 0; j < k; j++) weights[t * k + j] = Math.fround(ex[j]! / sum);
    output.fill(0x7fc0, t * H, (t + 1) * H);
  }
  return { ...r, output, weights };
}

/** A race among the CTAs of a large token tile: with T > 64 and tileTokens >= 64, every third run flips one output bit. */
function raceOnLargeTiles(h: EmulatedHandle, t: Tactic, run: number, r: Observed): Observed {
  if (h.c.spec.problem.T <= 64 || t.tileTokens < 64 || run % 3 !== 2) return r;
  const output = r.output.slice();
  output[h.c.spec.problem.H * 64] = output[h.c.spec.problem.H * 64]! ^ 1;
  return { ...r, output };
}

const LATENT: ReadonlyArray<{ name: string; make: () => LatentBug; triggers: (p: Problem) => boolean }> = [
  { name: 'more than 64 local experts', make: () => new LatentBug('expert-table-64', expertTableOf64, (_h, _t, _r, r) => r), triggers: (p) => p.localExperts > 64 },
  { name: 'huge logits under renormalize', make: () => new LatentBug('softmax-without-max', (c) => c, softmaxWithoutMax), triggers: (p) => p.routing.method === 'renormalize' },
  { name: 'a race on medium shapes, once in three runs', make: () => new LatentBug('race-large-tiles', (c) => c, raceOnLargeTiles), triggers: (p) => p.T > 64 },
];

for (const bug of LATENT) {
  test(`the default run kills a bug the old 24-case default missed: ${bug.name}`, async (t) => {
    const judge = async (spec: PlannedCase['spec'], repeats: number): Promise<CaseRecord[]> =>
      runOneCase(0, { spec }, new InlineRunner(bug.make() as KernelUnderTest, repeats), { kernel: { kind: 'emulated' }, repeats });
    // The old default: `check` before the default run (24 cases of the mix, seed 1, 2 runs per tactic).
    for (const spec of caseMix({ runs: 24, seed: 1 })) {
      const bad = (await judge(spec, 2)).filter((r) => r.disposition !== 'passed');
      t.deepEqual(bad.map((r) => `${r.problem} ${r.tactic}`), [], 'the old default run passes it');
    }
    // The default run, in plan order, until the first kill (cases that cannot trigger the bug pass by construction).
    const plan = emulatedPlan.cases;
    let kill: { index: number; record: CaseRecord } | null = null;
    for (const [i, c] of plan.entries()) {
      if (!bug.triggers(c.spec.problem)) continue;
      const bad = (await judge(c.spec, emulatedPlan.options.repeats)).find((r) => r.disposition !== 'passed');
      if (bad) {
        kill = { index: i, record: bad };
        break;
      }
    }
    t.not(kill, null, 'the default run kills it');
    t.log(`killed by case ${kill!.index} (${plan[kill!.index]!.section}: ${plan[kill!.index]!.why}), tactic ${kill!.record.tactic}: ${kill!.record.verdict.lines[0]}`);
  });
}
