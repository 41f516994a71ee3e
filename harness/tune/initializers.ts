/**
 * Tuning inputs from named, per-tensor initializers. Every input tensor of the
 * fused MoE has a name (TUNE_TENSORS) and gets an initializer by name (INITIALIZERS):
 *
 *   random  (default) the seeded generator's values (reference/generate.ts, 'normal'
 *           logit and scale families): the bytes `moe-harness replay` rebuilds from the
 *           same CaseSpec. Logits are generated in the dtype the problem declares
 *           (float32 stays float32; bfloat16 problems get bf16 bits): never cast.
 *   zero    every byte 0 (codes and scales), only when asked for by name.
 *
 * A tensor is never silently zero: after initialization every tensor whose initializer is
 * not 'zero' is checked to hold at least one non-zero byte (else ZeroTensorError). The
 * tuning case's spec is the CaseSpec the replay command names when no tensor is overridden;
 * with an override the replay is the tune command itself (tuneReplay in tuner.ts).
 */
import type { Case, CaseSpec } from '../../reference/case.js';
import { BadArgumentError } from '../../reference/errors.js';
import { generateCase, outputScalars, validateCaseSpec } from '../../reference/generate.js';
import { f32ArrayToBf16 } from '../../reference/formats/bf16.js';
import { calibrateFc2InputScale } from '../../reference/generate/calibrate.js';
import { generateHidden } from '../../reference/generate/hidden.js';
import { generateCaseParallel } from '../../reference/generate/parallel.js';
import { generateBias, generateLogits } from '../../reference/generate/logits.js';
import type { Problem } from '../../reference/problem.js';
import { problemSignature } from './cache.js';

export const TUNE_TENSORS = ['logits', 'bias', 'hidden', 'fc1', 'fc2'] as const;
export type TuneTensor = (typeof TUNE_TENSORS)[number];

export interface Initializer {
  readonly help: string;
  /** Whether the tensor may end up all zero (only the initializer named 'zero'). */
  readonly zero: boolean;
  /** Fill the tensor's buffers in place (random: leave the generator's bytes). */
  apply(buffers: readonly ArrayBufferView[]): void;
}

const zeroFill = (buffers: readonly ArrayBufferView[]): void => {
  for (const b of buffers) new Uint8Array(b.buffer, b.byteOffset, b.byteLength).fill(0);
};

export const INITIALIZERS: Readonly<Record<string, Initializer>> = {
  random: { help: "the seeded generator's values (the default)", zero: false, apply: () => undefined },
  zero: { help: 'every byte 0 (only when named)', zero: true, apply: zeroFill },
};
const INITIALIZER_NAMES = Object.keys(INITIALIZERS);

/** Initializer name per tensor; a tensor not named uses 'random'. */
export type InitializerChoice = Readonly<Partial<Record<TuneTensor, string>>>;

/** Parse "hidden=zero,fc1=random" (the --init option). */
export function parseInitializers(text: string, option = '--init'): InitializerChoice {
  const out: Partial<Record<TuneTensor, string>> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^([a-z0-9]+)=([a-z_]+)$/.exec(part);
    if (!m) throw new BadArgumentError(option, 'TENSOR=INITIALIZER pairs, comma-separated, e.g. hidden=zero', JSON.stringify(part));
    const [, tensor, init] = m as unknown as [string, string, string];
    if (!(TUNE_TENSORS as readonly string[]).includes(tensor)) throw new BadArgumentError(option, `a tensor among ${TUNE_TENSORS.join(', ')}`, JSON.stringify(tensor));
    if (!INITIALIZER_NAMES.includes(init)) throw new BadArgumentError(option, `an initializer among ${INITIALIZER_NAMES.join(', ')}`, JSON.stringify(init));
    out[tensor as TuneTensor] = init;
  }
  return out;
}

/** "hidden=zero" for the overridden tensors (those not 'random'), '' when none. */
export function describeInitializers(choice: InitializerChoice): string {
  return TUNE_TENSORS.filter((t) => (choice[t] ?? 'random') !== 'random').map((t) => `${t}=${choice[t]}`).join(',');
}

/** The buffers holding one tensor of a case ([] for a tensor the problem does not have). */
export function tensorBuffers(c: Case, t: TuneTensor): ArrayBufferView[] {
  switch (t) {
    case 'logits': return [c.logits];
    case 'bias': return c.bias ? [c.bias] : [];
    case 'hidden': {
      const h = c.hidden;
      return h.format === 'bf16' ? [h.data] : h.format === 'nvfp4' ? [h.packed, h.scales] : [h.data, h.scales];
    }
    case 'fc1': return [...c.fc1.packed.chunks, ...c.fc1.scales.chunks];
    case 'fc2': return [...c.fc2.packed.chunks, ...c.fc2.scales.chunks];
  }
}

/** Thrown when a tensor whose initializer is not 'zero' holds only zero bytes. */
export class ZeroTensorError extends Error {
  override readonly name = 'ZeroTensorError';
}

export interface TuningCase {
  readonly case: Case;
  readonly spec: CaseSpec;
  /** The initializers used, complete (every tensor named). */
  readonly initializers: Readonly<Record<TuneTensor, string>>;
  /** Whether the bytes are exactly generateCase(spec)'s (no tensor overridden). */
  readonly replayable: boolean;
}

/**
 * generateCase(spec) for the 'normal' families, with the weights (which do not depend on T)
 * generated once per (problem signature, seed) and shared by every bucket: the tensors are
 * byte-identical to generateCase's (initializers.test.ts checks it), so a replay rebuilds
 * them. Only the last weights are kept (one tune at a time).
 */
let weightsMemo: { key: string; fc1: Case['fc1']; fc2: Case['fc2']; swiglu: Case['swiglu'] } | null = null;
/** What the shared weights depend on: the problem without T (and its name), and the seed. */
const weightsKey = (p: Problem, seed: number): string => `${problemSignature(p)}|${seed}`;

function generateForBucket(spec: CaseSpec): Case {
  validateCaseSpec(spec);
  const p = spec.problem;
  const { seed } = spec;
  const key = weightsKey(p, seed);
  if (weightsMemo?.key !== key) {
    weightsMemo = null; // free the previous weights first
    const w = generateCase({ ...spec, problem: { ...p, T: 1 } });
    weightsMemo = { key, fc1: w.fc1, fc2: w.fc2, swiglu: w.swiglu };
  }
  const { fc1, fc2, swiglu } = weightsMemo;
  const logitsF32 = generateLogits(seed, p, 'normal');
  const logits = p.logitsDtype === 'bfloat16' ? f32ArrayToBf16(logitsF32) : logitsF32;
  let bias: Float32Array | Uint16Array | null = null;
  if (p.biasDtype !== 'none') {
    const b = generateBias(seed, p, 'normal');
    bias = p.biasDtype === 'bfloat16' ? f32ArrayToBf16(b) : b;
  }
  const { hidden, sumSquares } = generateHidden(seed, p, 'normal');
  const cScale = calibrateFc2InputScale(seed, p, 'normal', sumSquares);
  const { out1Scale, out1GateScale, out2Scale } = outputScalars(p.localExperts, hidden.format === 'nvfp4' ? hidden.globalScale : null, fc1.globalScale, fc2.globalScale, cScale);
  // The weights are shared between buckets (tuningCase copies them before an initializer writes them).
  return { spec, logits, bias, hidden, fc1, fc2, out1Scale, out1GateScale, out2Scale, fc2InputGlobalScale: cScale, swiglu };
}

/**
 * The shared weights of (problem, seed) generated on every core (generateCaseParallel, the same
 * bytes) ahead of the first tuningCase, which would otherwise generate them on this thread
 * (seconds for a full-size model). Nothing happens when they are already there.
 */
export async function warmTuningWeights(problem: Problem, seed: number): Promise<void> {
  const spec: CaseSpec = { problem: { ...problem, T: 1 }, seed, logitFamily: 'normal', scaleFamily: 'normal' };
  validateCaseSpec(spec);
  const key = weightsKey(problem, seed);
  if (weightsMemo?.key === key) return;
  weightsMemo = null; // free the previous weights first
  const w = await generateCaseParallel(spec);
  weightsMemo = { key, fc1: w.fc1, fc2: w.fc2, swiglu: w.swiglu };
}

const cloneWeights = (w: Case['fc1']): Case['fc1'] => ({ packed: w.packed.relayout(), scales: w.scales.relayout(), globalScale: w.globalScale.slice() });

const allZero = (b: ArrayBufferView): boolean => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).every((x) => x === 0);

/** The tuning inputs of one problem (T = the bucket): seeded, per-tensor initializers, checked never silently zero. */
export function tuningCase(problem: Problem, seed: number, choice: InitializerChoice = {}, registry: Readonly<Record<string, Initializer>> = INITIALIZERS): TuningCase {
  const spec: CaseSpec = { problem, seed, logitFamily: 'normal', scaleFamily: 'normal' };
  const initializers = Object.fromEntries(TUNE_TENSORS.map((t) => [t, choice[t] ?? 'random'])) as Record<TuneTensor, string>;
  const shared = generateForBucket(spec);
  const c: Case = {
    ...shared,
    ...(initializers.fc1 !== 'random' ? { fc1: cloneWeights(shared.fc1) } : {}),
    ...(initializers.fc2 !== 'random' ? { fc2: cloneWeights(shared.fc2) } : {}),
  };
  for (const t of TUNE_TENSORS) {
    const init = Object.prototype.hasOwnProperty.call(registry, initializers[t]) ? registry[initializers[t]] : undefined;
    if (init === undefined) throw new BadArgumentError(`initializer of ${t}`, `one of ${Object.keys(registry).join(', ')}`, JSON.stringify(initializers[t]));
    init.apply(tensorBuffers(c, t));
  }
  const wantLogits = problem.logitsDtype === 'bfloat16' ? Uint16Array : Float32Array;
  if (!(c.logits instanceof wantLogits)) {
    throw new Error(`tuning logits are ${c.logits.constructor.name}, but the problem declares ${problem.logitsDtype}: logits must be generated in the declared dtype, never cast`);
  }
  for (const t of TUNE_TENSORS) {
    if (registry[initializers[t]]!.zero) continue;
    const zero = tensorBuffers(c, t).filter(allZero);
    if (zero.length > 0) {
      throw new ZeroTensorError(`tuning tensor ${t} of ${problem.name ?? 'the problem'} (T=${problem.T}, seed ${seed}) is all zero under initializer '${initializers[t]}': a tensor is zero only when its initializer is 'zero'; pick another --seed`);
    }
  }
  return { case: c, spec, initializers, replayable: describeInitializers(initializers) === '' };
}
