/**
 * Problem: the shape and semantics of one fused MoE call (docs/semantics.md §1).
 * Plain data, JSON-serializable, so a case can be replayed from a report line.
 */

export const QUANT_MODES = ['nvfp4', 'mxfp4_mxfp8', 'mxfp4_bf16'] as const;
export type QuantMode = (typeof QUANT_MODES)[number];

export const ROUTING_METHODS = ['default', 'renormalize', 'renormalize_naive', 'deepseek_v3', 'llama4', 'topk'] as const;
export type RoutingMethodName = (typeof ROUTING_METHODS)[number];

export const LOGITS_DTYPES = ['float32', 'bfloat16'] as const;
export type LogitsDtype = (typeof LOGITS_DTYPES)[number];

export const BIAS_DTYPES = ['none', 'float32', 'bfloat16'] as const;
export type BiasDtype = (typeof BIAS_DTYPES)[number];

/** Routing method plus its parameters (SPEC §3). Only deepseek_v3 uses the optional fields. */
export interface RoutingConfig {
  readonly method: RoutingMethodName;
  /** deepseek_v3: number of expert groups (1 = no grouping). */
  readonly nGroup?: number;
  /** deepseek_v3: groups kept. */
  readonly topkGroup?: number;
  /** deepseek_v3: multiplies the normalized weights. */
  readonly routedScalingFactor?: number;
}

/**
 * SwiGLU activation. `plain`: a = silu(gate)·up. `clamped` (gpt-oss):
 * gate = min(gate, L), up = clamp(up, -L, L), a = gate·sigmoid(alpha·gate)·(up + beta).
 * The per-expert values live in the Case (Float32Array [El]); these are the base values
 * the generator starts from.
 */
export type ActivationConfig =
  | { readonly kind: 'swiglu' }
  | { readonly kind: 'swiglu_clamped'; readonly alpha: number; readonly beta: number; readonly limit: number };

export interface Problem {
  /** Named configuration (SPEC §6) or undefined for a generated one. */
  readonly name?: string;
  /** Tokens. */
  readonly T: number;
  /** Hidden size. */
  readonly H: number;
  /** Intermediate size per expert. */
  readonly I: number;
  /** Experts in the whole model. */
  readonly E: number;
  readonly topK: number;
  /** First expert this call owns. */
  readonly localOffset: number;
  /** Number of experts this call owns (El). */
  readonly localExperts: number;
  readonly routing: RoutingConfig;
  readonly logitsDtype: LogitsDtype;
  /** Routing bias dtype; 'none' unless the method is deepseek_v3. */
  readonly biasDtype: BiasDtype;
  readonly quantMode: QuantMode;
  readonly activation: ActivationConfig;
}

/** Block size of the weights' scales (and of FC2's input): 16 for NVFP4, 32 for MX. */
export function weightBlock(mode: QuantMode): 16 | 32 {
  return mode === 'nvfp4' ? 16 : 32;
}

/**
 * The format FC2's input is re-quantized to (SPEC §4 step 4); the hidden states are stored in
 * the same format. The one type for it: the analysis window, the re-quantizer and the fast
 * path all name this.
 */
export type Fc2InputFormat = 'nvfp4' | 'mxfp8' | 'bf16';

/** The storage format of the hidden states for a quant mode. */
export function hiddenFormat(mode: QuantMode): Fc2InputFormat {
  return mode === 'nvfp4' ? 'nvfp4' : mode === 'mxfp4_mxfp8' ? 'mxfp8' : 'bf16';
}

/** The format FC2's input is re-quantized to (SPEC §4 step 4). */
export function fc2InputFormat(mode: QuantMode): Fc2InputFormat {
  return hiddenFormat(mode);
}

/** Short human label, e.g. "T=7 H=256 I=128 E=16/8+4 k=2 renormalize nvfp4". */
export function describeProblem(p: Problem): string {
  const ep = p.localExperts === p.E && p.localOffset === 0 ? `E=${p.E}` : `E=${p.E}[${p.localOffset}+${p.localExperts}]`;
  return `${p.name ? p.name + ' ' : ''}T=${p.T} H=${p.H} I=${p.I} ${ep} k=${p.topK} ${p.routing.method} ${p.quantMode}` +
    `${p.logitsDtype === 'bfloat16' ? ' bf16-logits' : ''}${p.activation.kind === 'swiglu_clamped' ? ' clamped' : ''}`;
}
