/**
 * The WebAssembly element scan (wasmScan.ts, wasm/scan.wat) against its JS twin: compare()'s
 * element loop with and without it gives the same tally — bins, worst element, findings and
 * their order, every count — on synthetic runs of several chunks with every kind of element
 * (output values that are poison pattern 1, non-finite outputs and references, NaN bounds, elements at, beyond and just within
 * their bound, fragile rows, unusable rows, a convention bound), including a NaN ratio as the
 * very first judged element and the worst ratio met twice. compareOracle.test.ts checks
 * compare() (with the scan) against the comparator's first loop on real kernel runs.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { Expected } from '../reference/expected.js';
import { f32ToBf16 } from '../reference/formats/bf16.js';
import { testProblem } from '../reference/testing/testProblem.js';
import { elementVerdicts, jsElementVerdicts, type ElementInput } from './compare.js';
import { errorModel } from './errorModel.js';
import type { Observed } from './kernels/kernel.js';
import type { Finding } from './verdict.js';
import { SCAN_CHUNK_ELEMENTS } from './wasmScan.js';

test('the committed scanModule.ts is what scan.wat assembles to', async (t) => {
  const { assembleScanModule, scanModuleSource } = await import('./wasm/build.mjs');
  t.is(readFileSync(new URL('./wasm/scanModule.ts', import.meta.url), 'utf8'), scanModuleSource(await assembleScanModule()),
    'stale: run node harness/wasm/build.mjs and commit scanModule.ts');
});

/** A small deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const POISON: readonly [number, number] = [0x7fa5, 0xffc3];

/** Runs over T×H elements: mostly within bound, with every special element sprinkled in. */
function synthetic(seed: number, T: number, H: number, opts: { convention: boolean; nanAt: number | null; clean?: boolean }): ElementInput {
  const r = rng(seed);
  const n = T * H;
  const outputF32 = new Float32Array(n);
  const absAccum = new Float32Array(n);
  const flipAllowance = new Float32Array(n);
  const out = new Uint16Array(n);
  const conventionBound = opts.convention ? new Float32Array(n) : undefined;
  const model = errorModel(testProblem());
  for (let i = 0; i < n; i++) {
    const ref = (r() - 0.5) * 2 ** Math.floor(r() * 16 - 8);
    outputF32[i] = ref;
    absAccum[i] = Math.abs(ref) * (1 + r() * 64);
    flipAllowance[i] = Math.abs(ref) * r() * 0.01;
    if (conventionBound) conventionBound[i] = Math.abs(ref) * r() * 1e-3;
    out[i] = f32ToBf16(ref);
    const u = opts.clean === true ? 1 : r();
    if (u < 0.002) out[i] = POISON[0];
    else if (u < 0.003) out[i] = 0x7f80; // +Inf
    else if (u < 0.004) out[i] = 0x7fc0; // NaN
    else if (u < 0.005) outputF32[i] = NaN;
    else if (u < 0.006) outputF32[i] = Infinity;
    else if (u < 0.007) absAccum[i] = NaN; // a NaN bound
    else if (u < 0.012) out[i] = f32ToBf16(ref + (r() < 0.5 ? 1 : -1) * (model.accumulationFactor * absAccum[i]! + 0.05 * Math.abs(ref) + 1e-3)); // beyond
    else if (u < 0.02) out[i] = f32ToBf16(ref * (1 + (r() - 0.5) * 0.02)); // near the bound, either side
  }
  // The worst ratio met twice, within its bound: 1 + 2^-8 rounds to 1 in bf16, half an ulp off
  // with nothing else in the bound; the earlier of the two must be the worst in both loops.
  if (n > 20) {
    for (const i of [7, n - 9]) {
      outputF32[i] = 1 + 2 ** -8; absAccum[i] = 0; out[i] = f32ToBf16(1);
      if (conventionBound) conventionBound[i] = 0;
    }
  }
  if (opts.nanAt !== null) { const i = opts.nanAt; outputF32[i] = 1; absAccum[i] = NaN; out[i] = f32ToBf16(1); }
  const fragileTokens = Uint8Array.from({ length: T }, () => (r() < 0.2 ? 1 : 0));
  const unforceable = Uint8Array.from({ length: T }, () => (r() < 0.05 ? 1 : 0));
  const expected = { outputF32, absAccum, flipAllowance, fragileTokens, ...(conventionBound ? { conventionBound } : {}) } as unknown as Expected;
  const run: Observed = { output: out, ids: new Int32Array(0), weights: new Float32Array(0), executedTactic: '8/0' };
  return { T, H, runCount: 2, poison: POISON, run1: run, run2: run, differing: [], later: [{ run, number: 2 }], expected, model, unforceable };
}

/** One loop's tally and kept findings, five per kind as compare() keeps them. */
function tallyOf(loop: typeof elementVerdicts, a: ElementInput): { tally: unknown; findings: Finding[] } {
  const findings: Finding[] = [];
  const per = new Map<string, number>();
  const room = (kind: Finding['kind']): boolean => {
    const k = per.get(kind) ?? 0;
    per.set(kind, k + 1);
    return k < 5;
  };
  const tally = loop(a, room, (f) => findings.push(f));
  return { tally, findings };
}

for (const [seed, T, H, convention, nanFirst, clean] of [
  [1, 900, 1000, false, false], // four chunks of 262 rows
  [2, 600, 1000, true, true],
  [3, 3, 7, false, true], // one short chunk
  [4, 270, 2048, true, false], // 128 rows a chunk: three chunks
  [5, 700, 1000, false, false, true], // within bound everywhere: the worst is a common element (the tie)
  [6, 700, 1000, true, true, true],
  [7, 700, 1000, false, 'second', true], // a common element first, then a NaN ratio: the NaN must not hold
] as const) {
  test(`seed ${seed}, T=${T} H=${H}${convention ? ', convention bound' : ''}${nanFirst === true ? ', a NaN ratio first' : nanFirst === 'second' ? ', a NaN ratio second' : ''}${clean ? ', within bound' : ''}: the WebAssembly scan's tally is the JS loop's`, (t) => {
    const a = synthetic(seed, T, H, { convention, nanAt: nanFirst === true ? 0 : nanFirst === 'second' ? 1 : null, clean: clean === true });
    if (T * H > 2 * SCAN_CHUNK_ELEMENTS) t.log(`${Math.ceil((T * H) / SCAN_CHUNK_ELEMENTS)}+ chunks`);
    const js = tallyOf(jsElementVerdicts, a);
    const wasm = tallyOf(elementVerdicts, a);
    t.deepEqual(wasm.tally, js.tally);
    t.deepEqual(wasm.findings, js.findings);
    const k = js.tally as { beyondBound: number; nonfinite: number; overflowUndefined: number; flipExplained: number; worst: { ratio: number } | null };
    t.log(`beyond bound ${k.beyondBound}, non-finite ${k.nonfinite}, overflow undefined ${k.overflowUndefined}, flip-explained ${k.flipExplained}, worst ratio ${k.worst?.ratio}`);
    if (T * H > 1000 && clean !== true) t.true(k.beyondBound > 0 && k.nonfinite > 0 && k.overflowUndefined > 0 && k.flipExplained > 0, 'the special elements were met');
    if (clean === true && nanFirst !== true) {
      const w = (wasm.tally as { worst: { t: number; h: number; ratio: number } | null }).worst;
      t.deepEqual(w && [w.t, w.h], [0, 7], 'the earlier of the two equal worst ratios');
      t.true(w !== null && w.ratio > 0.99 && w.ratio <= 1);
    }
    if (nanFirst === true) t.true(Number.isNaN(k.worst?.ratio), 'a NaN ratio judged first holds the worst element in both loops');
  });
}
