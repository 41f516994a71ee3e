/**
 * A fast-check arbitrary of tiny problems for the reference's own tests (oracle vs fast
 * path, analysis modes): every quant mode and routing method, H and I of 1..n blocks of 32,
 * E = 8 with EP slices at offsets 0..3, plain or clamped SwiGLU.
 */
import { fc } from '@fast-check/ava';
import { routingMethod } from '../routing/registry.js';
import { QUANT_MODES, ROUTING_METHODS, type Problem, type RoutingConfig, type RoutingMethodName } from '../problem.js';

function routingFor(method: RoutingMethodName): RoutingConfig {
  return routingMethod(method).configFields.includes('nGroup')
    ? { method, nGroup: 2, topkGroup: 1, routedScalingFactor: 2.5 }
    : { method };
}

export function tinyProblemArb(limits: { maxT: number; maxIBlocks: number }): fc.Arbitrary<Problem> {
  return fc.record({
    quantMode: fc.constantFrom(...QUANT_MODES),
    method: fc.constantFrom(...ROUTING_METHODS),
    T: fc.integer({ min: 1, max: limits.maxT }),
    hBlocks: fc.integer({ min: 1, max: 3 }),
    iBlocks: fc.integer({ min: 1, max: limits.maxIBlocks }),
    k: fc.integer({ min: 1, max: 3 }),
    localOffset: fc.integer({ min: 0, max: 3 }),
    clamped: fc.boolean(),
  }).map(({ quantMode, method, T, hBlocks, iBlocks, k, localOffset, clamped }): Problem => {
    const m = routingMethod(method);
    return {
      T, H: 32 * hBlocks, I: 32 * iBlocks, E: 8, topK: m.requiredTopK ?? k,
      localOffset, localExperts: 8 - localOffset - (localOffset > 1 ? 1 : 0),
      routing: routingFor(method), logitsDtype: 'float32', biasDtype: m.usesBias ? 'float32' : 'none',
      quantMode, activation: clamped ? { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } : { kind: 'swiglu' },
    };
  });
}
