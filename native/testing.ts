/**
 * Test helpers of the native suites: a tiny valid Case built by hand (no generator, so
 * the malformed-argument properties do not depend on other modules), and the GPU probe
 * that makes GPU suites skip loudly or fail under MOE_HARNESS_REQUIRE_GPU=1.
 */
import type { Case } from '../reference/case.js';
import type { Problem } from '../reference/problem.js';
import { testProblem } from '../reference/testing/testProblem.js';
import { deviceInfo, nativeStatus, type NativeDeviceInfo } from './index.js';
import { ExpertBytes } from '../reference/expertBytes.js';

/** A well-formed problem small enough for argument tests: T=2, H=I=32, E=4, k=2, NVFP4. */
export function tinyProblem(overrides: Partial<Problem> = {}): Problem {
  return testProblem({ T: 2, H: 32, I: 32, E: 4, localExperts: 4, ...overrides });
}

/** Deterministic bytes (not all zero). */
function bytes(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    a[i] = x >>> 24;
  }
  return a;
}

/** A valid NVFP4 case of tinyProblem() (every tensor the right type and length). */
export function tinyCase(p: Problem = tinyProblem()): Case {
  const { T, H, I, E } = p;
  const El = p.localExperts;
  const sf = p.quantMode === 'nvfp4' ? 16 : 32;
  const logits = new Float32Array(T * E).map((_, i) => Math.sin(i + 1));
  const hidden: Case['hidden'] = p.quantMode === 'nvfp4'
    ? { format: 'nvfp4', packed: bytes(T * H / 2, 1), scales: new Uint8Array(T * H / 16).fill(0x38), globalScale: 1 }
    : p.quantMode === 'mxfp4_mxfp8'
      ? { format: 'mxfp8', data: bytes(T * H, 2).map((b) => b & 0x5f), scales: new Uint8Array(T * H / 32).fill(127) }
      : { format: 'bf16', data: new Uint16Array(T * H).fill(0x3f80) };
  const weights = (rows: number, cols: number, seed: number): Case['fc1'] => ({
    packed: ExpertBytes.fromContiguous(bytes(El * rows * cols / 2, seed), El),
    scales: ExpertBytes.fromContiguous(new Uint8Array(El * rows * cols / sf).fill(sf === 16 ? 0x30 : 124), El),
    globalScale: new Float32Array(El).fill(1),
  });
  return {
    spec: { problem: p, seed: 1, logitFamily: 'normal', scaleFamily: 'normal' },
    logits,
    bias: null,
    hidden,
    fc1: weights(2 * I, H, 3),
    fc2: weights(H, I, 4),
    out1Scale: new Float32Array(El).fill(1),
    out1GateScale: new Float32Array(El).fill(1),
    out2Scale: new Float32Array(El).fill(1),
    fc2InputGlobalScale: 1,
    swiglu: p.activation.kind === 'swiglu_clamped'
      ? { alpha: new Float32Array(El).fill(1.702), beta: new Float32Array(El).fill(1), limit: new Float32Array(El).fill(7) }
      : null,
  };
}

export type GpuProbe = { readonly ok: true; readonly device: NativeDeviceInfo } | { readonly ok: false; readonly why: string };

/** Whether a CUDA device answers (never throws). */
export async function probeGpu(): Promise<GpuProbe> {
  try {
    return { ok: true, device: await deviceInfo() };
  } catch (e) {
    return { ok: false, why: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** GPU suites: with MOE_HARNESS_REQUIRE_GPU=1 a missing GPU is a failure, else a loud skip. */
export const GPU_REQUIRED = process.env.MOE_HARNESS_REQUIRE_GPU === '1';

/**
 * CPU suites of the addon: true when it is loaded; else a loud skip (the log says why), or a
 * failure under MOE_HARNESS_REQUIRE_GPU=1, and false.
 */
export function addonLoadedOrSkip(t: { log(s: string): void; fail(s: string): void; pass(): void }): boolean {
  const status = nativeStatus();
  if (status.loaded) return true;
  t.log(`SKIP (loud): the native addon is not built: ${status.reason}`);
  if (GPU_REQUIRED) t.fail('MOE_HARNESS_REQUIRE_GPU=1 and the addon is not built');
  else t.pass();
  return false;
}
