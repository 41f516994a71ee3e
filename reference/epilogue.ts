/**
 * The FC1 epilogue of README "Arithmetic contract" item 2, in float32 (Math.fround at
 * every step), shared by both reference precisions (it is not part of the GEMM):
 *
 *   gate = accGate · out1GateScale,  upS = accUp · out1Scale        (llama4: acc·w first)
 *   gate' = min(gate, L),  upS' = clamp(upS, -L·c, L·c),  c = out1Scale / out1GateScale
 *   a_c = gate' · sigmoid(alpha · gate') · (upS' + beta·c)
 *
 * Plain SwiGLU is alpha = 1, beta = 0, L = +inf (then c is never needed).
 * sigmoid is computed in double and rounded once (the most accurate float32 sigmoid);
 * a kernel's exp may differ by a few ulp, which the error window absorbs (errorWindow.ts).
 */
import type { Case } from './case.js';

const fl = Math.fround;

/** Per-expert epilogue constants, all float32 values. */
export interface ExpertEpilogue {
  readonly gateScale: number;
  readonly upScale: number;
  readonly out2Scale: number;
  readonly alpha: number;
  /** beta·c, float32. */
  readonly betaC: number;
  /** Gate clamp L (+inf: none). */
  readonly limit: number;
  /** L·c, float32 (+inf: none). */
  readonly limitC: number;
  readonly clamped: boolean;
}

/** The per-expert scalars an epilogue reads (a Case has them all). */
export type EpilogueSource = Pick<Case, 'out1Scale' | 'out1GateScale' | 'out2Scale' | 'swiglu'>;

/** The epilogue constants of local expert l. */
export function expertEpilogue(c: EpilogueSource, l: number): ExpertEpilogue {
  const gateScale = fl(c.out1GateScale[l]!);
  const upScale = fl(c.out1Scale[l]!);
  const out2Scale = fl(c.out2Scale[l]!);
  if (c.swiglu === null) {
    return { gateScale, upScale, out2Scale, alpha: 1, betaC: 0, limit: Infinity, limitC: Infinity, clamped: false };
  }
  const ratio = fl(upScale / gateScale);
  const limit = fl(c.swiglu.limit[l]!);
  return {
    gateScale, upScale, out2Scale,
    alpha: fl(c.swiglu.alpha[l]!),
    betaC: fl(fl(c.swiglu.beta[l]!) * ratio),
    limit,
    limitC: fl(limit * ratio),
    clamped: true,
  };
}

/** Float32 sigmoid: 1 / (1 + exp(-x)) in double, rounded once. */
function sigmoidRounded(x: number): number {
  return fl(1 / (1 + Math.exp(-x)));
}

/**
 * Scratch for one element: the clamped, scaled gate and up values and the two factors
 * of a_c (silu part and linear part). Filled by swigluElement; read by the error window.
 */
export interface EpilogueParts {
  /** gate' (after scale, weight and clamp). */
  gate: number;
  /** sigmoid(alpha·gate'), float32. */
  sig: number;
  /** silu part: gate'·sigmoid(alpha·gate'). */
  silu: number;
  /** linear part: upS' + beta·c. */
  lin: number;
}

/**
 * a_c of one element from the float32 accumulators (already rounded to float32).
 * `preWeight` is the llama4 routing weight applied to both accumulators first (1 otherwise:
 * pass exactly 1 and the multiplication is skipped, as fl(acc·1) = acc).
 * When `parts` is given, the intermediate values are stored there.
 */
export function swigluElement(
  accUp: number, accGate: number, preWeight: number, ep: ExpertEpilogue, parts?: EpilogueParts,
): number {
  let ag = accGate;
  let au = accUp;
  if (preWeight !== 1) {
    ag = fl(ag * preWeight);
    au = fl(au * preWeight);
  }
  let gate = fl(ag * ep.gateScale);
  let up = fl(au * ep.upScale);
  let sig: number;
  let lin: number;
  if (ep.clamped) {
    if (gate > ep.limit) gate = ep.limit;
    if (up > ep.limitC) up = ep.limitC;
    else if (up < -ep.limitC) up = -ep.limitC;
    sig = sigmoidRounded(fl(ep.alpha * gate));
    lin = fl(up + ep.betaC);
  } else {
    sig = sigmoidRounded(gate);
    lin = up;
  }
  const silu = fl(gate * sig);
  if (parts !== undefined) {
    parts.gate = gate;
    parts.sig = sig;
    parts.silu = silu;
    parts.lin = lin;
  }
  return fl(silu * lin);
}
