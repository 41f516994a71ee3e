/**
 * Routing methods by name (SPEC §3). This is the only place in the project that maps a
 * method name to behaviour; everything else asks the method object (usesBias,
 * weightPlacement, ...).
 */
import type { Case } from '../case.js';
import { BadArgumentError, describeValue } from '../errors.js';
import type { RoutingResult } from '../expected.js';
import { ROUTING_METHODS, type RoutingMethodName } from '../problem.js';
import { deepseekV3Method } from './deepseekV3.js';
import { defaultMethod } from './default.js';
import { llama4Method } from './llama4.js';
import { renormalizeMethod } from './renormalize.js';
import { renormalizeNaiveMethod } from './renormalizeNaive.js';
import { routingInputFromCase } from './routingInput.js';
import { topkMethod } from './topk.js';
import type { RoutingMethod } from './types.js';

const METHODS: Readonly<Record<RoutingMethodName, RoutingMethod>> = {
  default: defaultMethod,
  renormalize: renormalizeMethod,
  renormalize_naive: renormalizeNaiveMethod,
  deepseek_v3: deepseekV3Method,
  llama4: llama4Method,
  topk: topkMethod,
};

/** The method called `name`; BadArgumentError naming the valid names otherwise. */
export function routingMethod(name: string): RoutingMethod {
  if (!Object.prototype.hasOwnProperty.call(METHODS, name)) {
    throw new BadArgumentError('routing.method', `one of ${ROUTING_METHODS.join(', ')}`, describeValue(name));
  }
  return METHODS[name as RoutingMethodName];
}

/** Every method, in ROUTING_METHODS order. */
export function routingMethods(): readonly RoutingMethod[] {
  return ROUTING_METHODS.map((n) => METHODS[n]);
}

/**
 * Route a case with its problem's method (bf16 logits/bias decoded exactly to float32).
 * With `forcedIds` [T,k] the ids are taken as given (e.g. a kernel's valid tie choice) and
 * the weights are the method's weights for them; selectionScores and evidence stay the reference's.
 */
export function routeCase(c: Pick<Case, 'spec' | 'logits' | 'bias'>, opts: { forcedIds?: Int32Array } = {}): RoutingResult {
  const method = routingMethod(c.spec.problem.routing.method);
  method.validate(c.spec.problem);
  const input = routingInputFromCase(c);
  const routed = method.route(input);
  if (opts.forcedIds === undefined) return routed;
  return { ...routed, ids: opts.forcedIds, weights: method.weightsFor(input, opts.forcedIds) };
}
