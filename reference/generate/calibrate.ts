/**
 * The caller's calibration of c, the NVFP4 global encode scale of FC2's input (SPEC §4.3),
 * from cheap statistics only, deterministic, and independent of the expert-parallel slice:
 *
 *   rmsX      = sqrt(Σ x² / (T·H))                 over the float hidden states (true units)
 *   σ_e       = √H · rmsW1_e · rmsX                 expected RMS of expert e's FC1 outputs,
 *                                                   rmsW1_e from the expert's header (true units)
 *   amaxAct_e = 32·σ_e²                             estimated largest |silu(gate)·up|: the
 *                                                   largest |z1·z2| over 1e5…1e7 Gaussian pairs
 *                                                   is about 16…25; the factor 32 leaves room for
 *                                                   the heavier tails of per-token magnitudes and
 *                                                   outlier channels, so saturation stays rare
 *               min(that, L·(L + |β|))              for swiglu_clamped (base L, β)
 *   c         = fl32(2688 / max_e amaxAct_e)        over ALL E experts, local or not
 * c = 1 when the estimate is 0 (zero_hidden) and in MX/bf16 modes. The zero_expert
 * family's chosen expert counts with its nominal weights, so c never depends on which
 * expert was zeroed. Clamped to [2^-126, 2^126] so c and 1/c stay normal float32.
 */
import type { ScaleFamily } from '../case.js';
import { pow2 } from '../formats/float.js';
import type { Problem } from '../problem.js';
import { expertHeader } from './weights.js';

export function calibrateFc2InputScale(seed: number, p: Problem, family: ScaleFamily, hiddenSumSquares: number): number {
  if (p.quantMode !== 'nvfp4') return 1;
  const rmsX = Math.sqrt(hiddenSumSquares / (p.T * p.H));
  let amaxAct = 0;
  for (let e = 0; e < p.E; e++) {
    const sigma = Math.sqrt(p.H) * expertHeader(seed, p, 'fc1', e, family).rms * rmsX;
    let act = 32 * sigma * sigma;
    if (p.activation.kind === 'swiglu_clamped') {
      const L = p.activation.limit;
      act = Math.min(act, L * (L + Math.abs(p.activation.beta)));
    }
    if (act > amaxAct) amaxAct = act;
  }
  if (!(amaxAct > 0) || !Number.isFinite(amaxAct)) return 1;
  return Math.fround(Math.min(pow2(126), Math.max(pow2(-126), 2688 / amaxAct)));
}
