/**
 * The FC1-activation convention (reference/conventions.ts, point fc1Activation) as arithmetic:
 * what the reference does to a_c between the epilogue and FC2-input quantization, and how the
 * fragility window follows it.
 *
 *  - 'float32' (SPEC §4 step 4): a_c is quantized directly; the window is unchanged.
 *  - 'bf16' (FlashInfer's reference): a_c is rounded to bf16 first. A kernel's a_c' lies within
 *    r of the reference's a_c; both are then rounded to bf16 (each rounding moves a value by at
 *    most half a bf16 ulp of the larger magnitude), so bf16(a_c') lies within
 *    r + ulp_bf16(|a_c| + r) of bf16(a_c). The analysis is centred on bf16(a_c) with that
 *    radius: sound, and it widens nothing for a kernel that did not declare the convention.
 */
import { roundBf16 } from './formats/bf16.js';
import type { Conventions } from './conventions.js';

/** One bf16 ulp at magnitude x (the spacing of bf16 values in x's binade; subnormal spacing 2^-133 below 2^-126). */
function bf16Ulp(x: number): number {
  const m = Math.abs(x);
  if (!(m >= 2 ** -126)) return 2 ** -133;
  if (!Number.isFinite(m)) return Infinity;
  return 2 ** (Math.floor(Math.log2(m)) - 7);
}

/** a_c as the convention hands it to FC2-input quantization. */
export function fc1Activation(conv: Conventions['fc1Activation'], v: number): number {
  return conv === 'bf16' ? roundBf16(v) : v;
}

/** The window radius around fc1Activation(conv, v) given radius r around v. */
export function fc1ActivationRadius(conv: Conventions['fc1Activation'], v: number, r: number): number {
  return conv === 'bf16' ? r + bf16Ulp(Math.abs(v) + r) : r;
}
