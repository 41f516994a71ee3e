/**
 * The RoutingInput of a Case: logits and bias decoded to float32 (bf16 bits decode
 * exactly), with the array types checked against the problem's declared dtypes.
 */
import type { Case } from '../case.js';
import { BadArgumentError, describeValue } from '../errors.js';
import { bf16ArrayToF32 } from '../formats/bf16.js';
import type { RoutingInput } from './types.js';

/** Reads only the case's spec, logits and bias (the routing inputs). */
export function routingInputFromCase(c: Pick<Case, 'spec' | 'logits' | 'bias'>): RoutingInput {
  const p = c.spec.problem;
  let logits: Float32Array;
  if (p.logitsDtype === 'bfloat16') {
    if (!(c.logits instanceof Uint16Array)) {
      throw new BadArgumentError('logits', 'Uint16Array of bf16 bits (logitsDtype bfloat16)', describeValue(c.logits));
    }
    logits = bf16ArrayToF32(c.logits);
  } else {
    if (!(c.logits instanceof Float32Array)) {
      throw new BadArgumentError('logits', `Float32Array (logitsDtype ${p.logitsDtype})`, describeValue(c.logits));
    }
    logits = c.logits;
  }
  let bias: Float32Array | null = null;
  if (p.biasDtype === 'none') {
    if (c.bias !== null) throw new BadArgumentError('bias', 'null (biasDtype none)', describeValue(c.bias));
  } else if (p.biasDtype === 'bfloat16') {
    if (!(c.bias instanceof Uint16Array)) {
      throw new BadArgumentError('bias', 'Uint16Array of bf16 bits (biasDtype bfloat16)', describeValue(c.bias));
    }
    bias = bf16ArrayToF32(c.bias);
  } else {
    if (!(c.bias instanceof Float32Array)) {
      throw new BadArgumentError('bias', `Float32Array (biasDtype ${p.biasDtype})`, describeValue(c.bias));
    }
    bias = c.bias;
  }
  return { T: p.T, E: p.E, topK: p.topK, logits, bias, config: p.routing };
}
