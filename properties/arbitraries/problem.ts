/**
 * problemArb: random valid Problems. Built from independent integers and constants and
 * then mapped (clamped) into a valid problem, so fast-check shrinks every part of the
 * shape (T, H, I, E, k, groups, EP slice) and every family towards its simplest value.
 *
 * - T: 1, small primes and tile residues (TOKEN_COUNTS), or any integer, up to maxT.
 * - H, I: multiples of 16 rounded up to the weight block (16 NVFP4, 32 MX), so odd
 *   multiples such as H = 64·n + 16 or 64·n + 32 are common.
 * - E, k, groups within each routing method's limits, read from the method object
 *   (requiredTopK; methods with group fields: nGroup in {1, 2, 4, 8}, group size >= 2,
 *   topkGroup <= min(4, nGroup), k < topkGroup·size, a routedScalingFactor).
 * - EP slices: the full range or a slice with a (usually) nonzero offset.
 * - logits dtype float32 or bf16; bias dtype for methods that use a bias (float32, bf16 or none).
 */
import fc from 'fast-check';
import {
  ROUTING_METHODS, weightBlock, type BiasDtype, type LogitsDtype, type Problem, type QuantMode, type RoutingConfig,
  type RoutingMethodName,
} from '../../reference/problem.js';
import { routingMethod } from '../../reference/routing/registry.js';
import { activationArb, quantModeArb } from './families.js';
import { sizeLimits, TOKEN_COUNTS, type ArbSize, type SizeLimits } from './size.js';

export interface ProblemArbOptions {
  readonly size?: ArbSize | SizeLimits;
  /** Restrict the routing methods (default: all). */
  readonly methods?: readonly RoutingMethodName[];
  /** Fix T (e.g. for batch-size sweeps). */
  readonly T?: number;
  /** Restrict the quant modes (default: all). */
  readonly quantModes?: readonly QuantMode[];
}

export function tokenCountArb(maxT: number): fc.Arbitrary<number> {
  const named = TOKEN_COUNTS.filter((t) => t <= maxT);
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...named) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: maxT }) });
}

const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

export function problemArb(opts: ProblemArbOptions = {}): fc.Arbitrary<Problem> {
  const L = sizeLimits(opts.size);
  const methods = opts.methods ?? ROUTING_METHODS;
  return fc.record({
    method: fc.constantFrom(...methods),
    T: opts.T === undefined ? tokenCountArb(L.maxT) : fc.constant(opts.T),
    hUnits: fc.integer({ min: 1, max: Math.max(1, Math.floor(L.maxH / 16)) }),
    iUnits: fc.integer({ min: 1, max: Math.max(1, Math.floor(L.maxI / 16)) }),
    quantMode: opts.quantModes === undefined ? quantModeArb : fc.constantFrom(...opts.quantModes),
    activation: activationArb,
    E: fc.integer({ min: 1, max: L.maxE }),
    k: fc.integer({ min: 1, max: L.maxK }),
    nGroup: fc.constantFrom(1, 2, 4, 8),
    groupSize: fc.integer({ min: 2, max: Math.max(2, L.maxGroupSize) }),
    topkGroup: fc.integer({ min: 1, max: 4 }),
    scale: fc.constantFrom(2.5, 1, 0.5),
    ep: fc.oneof(
      fc.constant(null),
      fc.record({ count: fc.integer({ min: 1, max: L.maxE }), offset: fc.integer({ min: 1, max: L.maxE }) }),
    ),
    logitsDtype: fc.constantFrom<LogitsDtype>('float32', 'bfloat16'),
    biasDtype: fc.constantFrom<BiasDtype>('float32', 'bfloat16', 'none'),
  }).map((r): Problem => {
    const block = weightBlock(r.quantMode);
    const H = roundUp(16 * r.hUnits, block);
    const I = roundUp(16 * r.iUnits, block);
    let E = r.E;
    let topK = Math.min(r.k, E);
    const method = routingMethod(r.method);
    let routing: RoutingConfig = { method: r.method };
    if (method.configFields.includes('nGroup')) {
      // Grouping needs at least two groups of two within maxE; otherwise nGroup = 1.
      const nGroup = r.nGroup * 2 <= L.maxE ? r.nGroup : 1;
      if (nGroup > 1) {
        const size = Math.min(r.groupSize, Math.floor(L.maxE / nGroup));
        E = nGroup * size;
        const topkGroup = Math.min(r.topkGroup, nGroup, 4);
        topK = Math.max(1, Math.min(r.k, topkGroup * size - 1));
        routing = { method: r.method, nGroup, topkGroup, routedScalingFactor: r.scale };
      } else {
        routing = { method: r.method, nGroup: 1, topkGroup: 1, routedScalingFactor: r.scale };
      }
    } else if (method.requiredTopK !== null) {
      topK = method.requiredTopK;
    }
    const localExperts = r.ep === null ? E : 1 + ((r.ep.count - 1) % E);
    const localOffset = r.ep === null ? 0 : r.ep.offset % (E - localExperts + 1);
    return {
      T: r.T, H, I, E, topK, localOffset, localExperts, routing,
      logitsDtype: r.logitsDtype,
      biasDtype: method.usesBias ? r.biasDtype : 'none',
      quantMode: r.quantMode,
      activation: r.activation,
    };
  });
}
