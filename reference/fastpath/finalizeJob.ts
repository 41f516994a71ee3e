/**
 * Worker side of the finalize phase: token blocks from the shared queue. The sums are
 * finalize.ts's; when the slot outputs live in a shared WebAssembly.Memory
 * (FinalizeJob.memory) the finalize kernel (wasm/finalize.wat) adds each slot's rows with
 * the same arithmetic, else finalizeTokens does.
 */
import { finalizeTokens } from '../finalize.js';
import { f32ArrayToBf16 } from '../formats/bf16.js';
import { isLocalExpert } from '../slotPlan.js';
import { emptyStats, type FinalizeJob, type JobStats } from './protocol.js';
import { FINALIZE_WASM_BASE64 } from './wasm/analysisModule.js';
import { Wasm } from './wasmRuntime.js';

type SlotFn = (
  out: number, abs: number, flip: number, y: number, absY: number, flipY: number, H: number, w: number, aw: number,
  outputOnly: number, hasFlip: number,
) => void;

let finalizeModule: object | null = null;

/** The finalize kernel on this job's shared memory. */
export function finalizeKernel(memory: object): SlotFn {
  finalizeModule ??= new Wasm.Module(Uint8Array.from(Buffer.from(FINALIZE_WASM_BASE64, 'base64')));
  return new Wasm.Instance(finalizeModule, { env: { mem: memory } }).exports.slot as SlotFn;
}

export function runFinalize(job: FinalizeJob): JobStats {
  const stats = emptyStats();
  const t0 = performance.now();
  const slot = job.memory === null ? null : finalizeKernel(job.memory);
  for (;;) {
    const task = Atomics.add(job.queue, 0, 1);
    const a = job.t0 + task * job.tokensPerTask;
    if (a >= job.t1) break;
    const b = Math.min(job.t1, a + job.tokensPerTask);
    if (slot === null) finalizeRangeJs(job, a, b);
    else finalizeRangeWasm(job, slot, a, b);
    // The final bf16 rounding of these rows, here rather than serially on the main thread.
    job.outputBf16.set(f32ArrayToBf16(job.outputF32.subarray(a * job.H, b * job.H)), a * job.H);
  }
  stats.ms = performance.now() - t0;
  stats.phases.finalize = stats.ms;
  return stats;
}

function finalizeRangeJs(job: FinalizeJob, a: number, b: number): void {
  // finalizeTokens indexes slot rows relative to the chunk start job.t0.
  const off = (a - job.t0) * job.topK * job.H;
  const len = (b - a) * job.topK * job.H;
  const out = { outputF32: job.outputF32, absAccum: job.absAccum, flipAllowance: job.flipAllowance };
  // Slot rows without flip allowance were not written: zeros for finalizeTokens.
  for (let row = (a - job.t0) * job.topK; row < (b - job.t0) * job.topK; row++) {
    if (job.flipRows[row] === 0) job.flipY.fill(0, row * job.H, (row + 1) * job.H);
  }
  finalizeTokens(job, job.ids, job.weights, job.weightPlacement, {
    y: job.y.subarray(off, off + len), absY: job.absY.subarray(off, off + len), flipY: job.flipY.subarray(off, off + len),
  }, a, b, out, job.analysis);
}

/** finalizeTokens's sums, one slot row at a time by the kernel (slot order kept). */
function finalizeRangeWasm(job: FinalizeJob, slot: SlotFn, a: number, b: number): void {
  const { H, topK: k } = job;
  const outputOnly = job.analysis === 'output' ? 1 : 0;
  const p = (v: Float32Array, i: number) => v.byteOffset + 4 * i;
  for (let t = a; t < b; t++) {
    const o = t * H;
    // The sums start from +0 (a token with no local slot gets exact zeros).
    job.outputF32.fill(0, o, o + H);
    job.absAccum.fill(0, o, o + H);
    job.flipAllowance.fill(0, o, o + H);
    for (let j = 0; j < k; j++) {
      if (!isLocalExpert(job, job.ids[t * k + j]!)) continue;
      const w = job.weightPlacement === 'finalize' ? job.weights[t * k + j]! : 1;
      const aw = Math.abs(w);
      const row = (t - job.t0) * k + j;
      const s = row * H;
      let hasFlip = job.flipRows[row]!;
      if (hasFlip === 0 && !Number.isFinite(aw) && outputOnly === 0) { // |w|·0 is NaN: add the zero row
        job.flipY.fill(0, s, s + H);
        hasFlip = 1;
      }
      slot(p(job.outputF32, o), p(job.absAccum, o), p(job.flipAllowance, o), p(job.y, s), p(job.absY, s), p(job.flipY, s),
        H, w, aw, outputOnly, hasFlip);
    }
  }
}
