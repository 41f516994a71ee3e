/**
 * A Problem and a Case as the C ABI host takes them (moe_kernel_abi.h's MoeProblem and
 * MoeCase): names stay names (SPEC §1, §3), every tensor carries its MoeDtype and shape in
 * the canonical layout. Pure: no addon is loaded here, so the main process may use it.
 */
import type { Case } from '../../reference/case.js';
import type { ExpertBytes } from '../../reference/expertBytes.js';
import type { BiasDtype, LogitsDtype, Problem } from '../../reference/problem.js';
import type { AbiCase, AbiDtype, AbiProblem, AbiTensor } from './libHost.js';

const LOGITS: Readonly<Record<LogitsDtype, AbiDtype>> = { float32: 'f32', bfloat16: 'bf16' };
const BIAS: Readonly<Record<BiasDtype, AbiDtype>> = { none: 'none', float32: 'f32', bfloat16: 'bf16' };

export function abiProblem(p: Problem): AbiProblem {
  const deepseek = p.routing.method === 'deepseek_v3';
  return {
    T: p.T, H: p.H, I: p.I, E: p.E, topK: p.topK, localOffset: p.localOffset, localExperts: p.localExperts,
    routingMethod: p.routing.method,
    nGroup: deepseek ? (p.routing.nGroup ?? 1) : 1,
    topkGroup: deepseek ? (p.routing.topkGroup ?? 1) : 1,
    routedScalingFactor: deepseek ? (p.routing.routedScalingFactor ?? 1) : 1,
    quantMode: p.quantMode, logitsDtype: LOGITS[p.logitsDtype], biasDtype: BIAS[p.biasDtype], activation: p.activation.kind,
  };
}

/**
 * A weight tensor as the C ABI host takes it: its one chunk, or the array of its chunks
 * (whole experts; the host joins them in order into its own buffer, native/abi/host), so no
 * array reaches 4 GiB.
 */
function hostBytes(x: ExpertBytes): Uint8Array | Uint8Array[] {
  return x.chunks.length === 1 ? x.chunks[0]! : [...x.chunks];
}

const tensor = (dtype: AbiDtype, shape: readonly number[], data: ArrayBufferView | readonly ArrayBufferView[]): AbiTensor => ({ dtype, shape, data });

export function abiCase(c: Case): AbiCase {
  const p = c.spec.problem;
  const { T, H, I, E } = p;
  const El = p.localExperts;
  const sf = p.quantMode === 'nvfp4' ? 16 : 32;
  const scale: AbiDtype = p.quantMode === 'nvfp4' ? 'e4m3' : 'ue8m0';
  const h = c.hidden;
  const hidden = h.format === 'nvfp4' ? tensor('e2m1x2', [T, H / 2], h.packed)
    : h.format === 'mxfp8' ? tensor('e4m3', [T, H], h.data) : tensor('bf16', [T, H], h.data);
  const hiddenScales = h.format === 'nvfp4' ? tensor('e4m3', [T, H / 16], h.scales)
    : h.format === 'mxfp8' ? tensor('ue8m0', [T, H / 32], h.scales) : null;
  return {
    problem: abiProblem(p),
    logits: tensor(LOGITS[p.logitsDtype], [T, E], c.logits),
    bias: c.bias === null ? null : tensor(BIAS[p.biasDtype], [E], c.bias),
    hidden, hiddenScales,
    fc1Weights: tensor('e2m1x2', [El, 2 * I, H / 2], hostBytes(c.fc1.packed)),
    fc1Scales: tensor(scale, [El, 2 * I, H / sf], hostBytes(c.fc1.scales)),
    fc2Weights: tensor('e2m1x2', [El, H, I / 2], hostBytes(c.fc2.packed)),
    fc2Scales: tensor(scale, [El, H, I / sf], hostBytes(c.fc2.scales)),
    out1Scale: tensor('f32', [El], c.out1Scale),
    out1GateScale: tensor('f32', [El], c.out1GateScale),
    out2Scale: tensor('f32', [El], c.out2Scale),
    swigluAlpha: c.swiglu ? tensor('f32', [El], c.swiglu.alpha) : null,
    swigluBeta: c.swiglu ? tensor('f32', [El], c.swiglu.beta) : null,
    swigluLimit: c.swiglu ? tensor('f32', [El], c.swiglu.limit) : null,
  };
}
