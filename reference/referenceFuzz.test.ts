/**
 * Seeded fuzzing of the reference's entry points with malformed and edge-case calls:
 * validateCaseSpec, generateCase and runReference (float32 and float64) on specs, cases and
 * options with one field broken. Every refusal must be a BadArgumentError or an
 * UnsupportedProblemError whose message starts with the argument it names; nothing else may
 * throw (no TypeError, RangeError or allocation failure), and a call that is accepted must
 * return a result of the right shape.
 *
 * Scale: MOE_REFERENCE_FUZZ_RUNS (default 300; docs/install.md's figures come from 2000),
 * seed MOE_FUZZ_SEED (default 14). A valid case is run through the reference only while it
 * is small (T·H·I·localExperts ≤ 2^22), to bound the test's time.
 */
import test from 'ava';
import fc from 'fast-check';
import type { Case, CaseSpec } from './case.js';
import { BadArgumentError, UnsupportedProblemError } from './errors.js';
import { generateCase, validateCaseSpec } from './generate.js';
import { runReference, shutdownReference, type ReferenceOptions } from './moe.js';
import type { Problem } from './problem.js';
import { testProblem } from './testing/testProblem.js';

test.after.always(() => shutdownReference());

const RUNS = Number(process.env.MOE_REFERENCE_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.MOE_FUZZ_SEED ?? 14);

const base: Problem = testProblem({ T: 4 });
const baseSpec: CaseSpec = { problem: base, seed: 5, logitFamily: 'normal', scaleFamily: 'normal' };

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, true, 0, -0, -1, 1, 2, 3, 7, 8, 16, 32, 48, 63, 64, 96, 128, 256, 1.5, NaN, Infinity,
    -Infinity, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, '', 'x', '8', [], [1, 2], {}, () => 1, Symbol('s'), 5n,
    'renormalize', 'deepseek_v3', 'llama4', 'topk', 'default', 'renormalize_naive', 'nvfp4', 'mxfp4_mxfp8', 'mxfp4_bf16',
    'float32', 'bfloat16', 'none', 'swiglu', 'swiglu_clamped', 'normal', 'ties', 'huge', 'neg_inf', 'zero_expert',
    new Float32Array(3), new Uint8Array(0), new Int32Array(8)),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.double(),
);

const PROBLEM_KEYS = ['T', 'H', 'I', 'E', 'topK', 'localOffset', 'localExperts', 'logitsDtype', 'biasDtype', 'quantMode'] as const;
type Target =
  | { where: 'spec'; key: string; value: unknown }
  | { where: 'problem'; key: string; value: unknown }
  | { where: 'routing'; key: string; value: unknown }
  | { where: 'activation'; key: string; value: unknown }
  | { where: 'case'; key: string; value: unknown }
  | { where: 'options'; key: string; value: unknown };

const target: fc.Arbitrary<Target> = fc.oneof(
  fc.record({ where: fc.constant('spec' as const), key: fc.constantFrom('seed', 'logitFamily', 'scaleFamily', 'problem', '*'), value: junk }),
  fc.record({ where: fc.constant('problem' as const), key: fc.constantFrom(...PROBLEM_KEYS), value: junk }),
  fc.record({ where: fc.constant('routing' as const), key: fc.constantFrom('method', 'nGroup', 'topkGroup', 'routedScalingFactor', '*'), value: junk }),
  fc.record({ where: fc.constant('activation' as const), key: fc.constantFrom('kind', 'alpha', 'beta', 'limit', '*'), value: junk }),
  fc.record({ where: fc.constant('case' as const), key: fc.constantFrom('logits', 'bias', 'hidden', 'hidden.packed', 'hidden.scales',
    'fc1', 'fc1.packed', 'fc1.scales', 'fc1.globalScale', 'fc2.packed', 'out1Scale', 'out2Scale', 'swiglu', 'fc2InputGlobalScale', 'spec'), value: junk }),
  fc.record({ where: fc.constant('options' as const), key: fc.constantFrom('precision', 'threads', 'analysis', 'fc1RelativeError', 'forcedIds', '*'), value: junk }),
) as fc.Arbitrary<Target>;

function withSpec(t: Target): unknown {
  if (t.where === 'spec') return t.key === '*' ? t.value : { ...baseSpec, [t.key]: t.value };
  const p: Record<string, unknown> = { ...base };
  if (t.where === 'problem') p[t.key] = t.value;
  if (t.where === 'routing') p.routing = t.key === '*' ? t.value : { ...base.routing, method: 'deepseek_v3', nGroup: 1, topkGroup: 1, [t.key]: t.value };
  if (t.where === 'routing' && t.key !== '*' && t.key !== 'method') p.E = 8;
  if (t.where === 'activation') p.activation = t.key === '*' ? t.value : { kind: 'swiglu_clamped', alpha: 1.7, beta: 1, limit: 7, [t.key]: t.value };
  return { ...baseSpec, problem: p };
}

let cached: Case | null = null;
const goodCase = (): Case => (cached ??= generateCase(baseSpec));

function withCase(t: Target): Case {
  const c = goodCase();
  const [head, tail] = t.key.split('.') as [string, string | undefined];
  if (tail === undefined) return { ...c, [head]: t.value } as unknown as Case;
  const inner = (c as unknown as Record<string, Record<string, unknown>>)[head]!;
  return { ...c, [head]: { ...inner, [tail]: t.value } } as unknown as Case;
}

const small = (p: Problem) => p.T * p.H * p.I * p.localExperts <= 2 ** 22;

interface Figures { calls: number; refusedBad: number; refusedUnsupported: number; accepted: number; other: number; arguments: Set<string> }

test(`${RUNS} seeded malformed reference calls: every refusal is an argument error naming the argument, nothing else throws`, async (t) => {
  const f: Figures = { calls: 0, refusedBad: 0, refusedUnsupported: 0, accepted: 0, other: 0, arguments: new Set() };
  const problems: string[] = [];
  const describe = (x: Target) => `${x.where}.${x.key}=${typeof x.value === 'symbol' ? 'symbol' : typeof x.value === 'bigint' ? `${x.value}n` : JSON.stringify(x.value) ?? String(x.value)}`;

  async function attempt(what: string, fn: () => unknown): Promise<boolean> {
    f.calls++;
    try {
      const r = fn();
      if (r instanceof Promise) await r;
      f.accepted++;
      return true;
    } catch (e) {
      if (e instanceof BadArgumentError || e instanceof UnsupportedProblemError) {
        if (e instanceof BadArgumentError) f.refusedBad++; else f.refusedUnsupported++;
        f.arguments.add(e.argument);
        const prefix = e instanceof UnsupportedProblemError ? 'unsupported ' : '';
        if (e.argument === '' || !e.message.startsWith(`${prefix}${e.argument}: expected `)) problems.push(`${what}: message does not lead with its argument: ${e.message}`);
      } else {
        f.other++;
        problems.push(`${what}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      }
      return false;
    }
  }

  await fc.assert(fc.asyncProperty(target, fc.constantFrom<'float32' | 'float64'>('float32', 'float64'), async (x, precision) => {
    const what = describe(x);
    if (x.where === 'case') {
      await attempt(`runReference(${what})`, () => runReference(withCase(x), { precision }));
      return;
    }
    if (x.where === 'options') {
      const opts = (x.key === '*' ? x.value : { precision, [x.key]: x.value }) as ReferenceOptions;
      await attempt(`runReference(opts.${what})`, () => runReference(goodCase(), opts));
      return;
    }
    const spec = withSpec(x);
    const valid = await attempt(`validateCaseSpec(${what})`, () => validateCaseSpec(spec as CaseSpec));
    let c: Case | null = null;
    const generated = await attempt(`generateCase(${what})`, () => { c = generateCase(spec as CaseSpec); });
    if (valid !== generated) problems.push(`${what}: validateCaseSpec ${valid ? 'accepted' : 'refused'} but generateCase ${generated ? 'accepted' : 'refused'}`);
    if (c !== null && small((c as Case).spec.problem)) {
      await attempt(`runReference(${what}, ${precision})`, async () => {
        const ex = await runReference(c!, { precision, threads: 2 });
        const { T, H } = (c as Case).spec.problem;
        if (ex.outputBf16.length !== T * H) throw new Error(`output of length ${ex.outputBf16.length}, expected ${T * H}`);
      });
    }
  }), { numRuns: RUNS, seed: SEED });

  t.log(`reference fuzz (seed ${SEED}): ${f.calls} calls, ${f.refusedBad} BadArgumentError, ${f.refusedUnsupported} UnsupportedProblemError, ` +
    `${f.accepted} accepted, ${f.other} other errors; ${f.arguments.size} distinct arguments named`);
  t.deepEqual(problems.slice(0, 10), [], `${problems.length} problems`);
  t.true(f.refusedBad + f.refusedUnsupported > f.calls / 3, 'most calls must be refusals');
});
