/**
 * Search seeds for golden cases with a REAL re-quantization flip: the reference marks
 * fragile FC2-input elements (flipAllowance > 0) AND some valid float32 accumulation order
 * of FC1 actually puts one of them on the other side of its rounding boundary.
 *
 * For every local slot and FC2-input element, FC1's two dot products are summed in three
 * valid float32 orders besides the reference's (float64 rounded once): sequential, reverse,
 * and truncating 16-term MMA blocks; each result goes through the reference's own epilogue
 * and re-quantization, and an FC2 input that differs from the reference's is a flip.
 *
 *   npx tsx goldens/flipSearch.ts [quantMode] [firstSeed] [count] [scaleFamily] [renormalize|llama4]
 *
 * Prints, per seed with fragile elements, the fragile count and the flips per order;
 * goldens/cases.ts fixes chosen seeds (flip-*); flipsIn() is what goldens tests re-check.
 */
import { froundTowardZero } from '../harness/kernels/emulatedTactics.js';
import type { Case, ScaleFamily } from '../reference/case.js';
import { expertEpilogue, swigluElement } from '../reference/epilogue.js';
import { dequantizeExpertWeights, dequantizeHidden, generateCase } from '../reference/generate.js';
import { fc2InputFormat, type Problem, type QuantMode } from '../reference/problem.js';
import { requantizeInPlace } from '../reference/quant/requantize.js';
import { routeCase, routingMethod } from '../reference/routing/registry.js';
import { planSlots } from '../reference/slotPlan.js';
import { flipCaseProblem } from './cases.js';
import { goldenReference } from './produce.js';

const fl = Math.fround;
const ORDERS = ['sequential', 'reverse', 'mma16'] as const;
export type Order = (typeof ORDERS)[number];

function dot(w: Float32Array, wo: number, x: Float32Array, xo: number, H: number, order: Order): number {
  if (order === 'sequential') {
    let s = 0;
    for (let h = 0; h < H; h++) s = fl(s + w[wo + h]! * x[xo + h]!);
    return s;
  }
  if (order === 'reverse') {
    let s = 0;
    for (let h = H - 1; h >= 0; h--) s = fl(s + w[wo + h]! * x[xo + h]!);
    return s;
  }
  let acc = 0;
  for (let k = 0; k < H; k += 16) {
    let block = acc;
    for (let h = k; h < Math.min(H, k + 16); h++) block += w[wo + h]! * x[xo + h]!;
    acc = froundTowardZero(block);
  }
  return acc;
}

/** FC2-input elements that differ from the reference's under each order (counts). */
export function flipsIn(c: Case): Record<Order, number> {
  const p = c.spec.problem;
  const { H, I, topK: k } = p;
  const fmt = fc2InputFormat(p.quantMode);
  const routing = routeCase(c);
  const beforeFc1 = routingMethod(p.routing.method).weightPlacement === 'before_fc1';
  const x = dequantizeHidden(c);
  const plan = planSlots(p, routing.ids);
  const flips: Record<Order, number> = { sequential: 0, reverse: 0, mma16: 0 };
  const ref = new Float32Array(I);
  const alt = new Float32Array(I);
  for (let l = 0; l < p.localExperts; l++) {
    if (plan.start[l] === plan.start[l + 1]) continue;
    const w1 = dequantizeExpertWeights(c, 'fc1', l);
    const ep = expertEpilogue(c, l);
    for (let rr = plan.start[l]!; rr < plan.start[l + 1]!; rr++) {
      const row = plan.rows[rr]!;
      const xo = Math.floor(row / k) * H;
      const pre = beforeFc1 ? routing.weights[row]! : 1;
      for (let i = 0; i < I; i++) {
        let u = 0;
        let g = 0;
        for (let h = 0; h < H; h++) {
          u += w1[i * H + h]! * x[xo + h]!;
          g += w1[(I + i) * H + h]! * x[xo + h]!;
        }
        ref[i] = swigluElement(fl(u), fl(g), pre, ep);
      }
      requantizeInPlace(fmt, ref, 0, I);
      for (const order of ORDERS) {
        for (let i = 0; i < I; i++) alt[i] = swigluElement(dot(w1, i * H, x, xo, H, order), dot(w1, (I + i) * H, x, xo, H, order), pre, ep);
        requantizeInPlace(fmt, alt, 0, I);
        for (let i = 0; i < I; i++) if (!Object.is(alt[i], ref[i])) flips[order]++;
      }
    }
  }
  return flips;
}

async function main(): Promise<void> {
  const [mode = 'mxfp4_bf16', first = '1', count = '40', scales = 'normal', method = 'renormalize'] = process.argv.slice(2);
  const p: Problem = flipCaseProblem(mode as QuantMode, method as 'renormalize' | 'llama4');
  for (let seed = Number(first); seed < Number(first) + Number(count); seed++) {
    const c = generateCase({ problem: p, seed, logitFamily: 'normal', scaleFamily: scales as ScaleFamily });
    const expected = await goldenReference(c);
    if (expected.requant.fragileElements === 0) continue;
    console.log(`seed ${seed}: fragile elements ${expected.requant.fragileElements}, flips ${JSON.stringify(flipsIn(c))}`);
  }
}

if (process.argv[1]?.endsWith('flipSearch.ts')) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
