/**
 * Test fixtures for routing suites: RoutingInput and minimal Case builders. The Case
 * carries empty MoE tensors; only the routing fields are meaningful.
 */
import type { Case } from '../../case.js';
import type { Problem, RoutingConfig } from '../../problem.js';
import { f32ArrayToBf16 } from '../../formats/bf16.js';
import type { RoutingInput } from '../types.js';
import { ExpertBytes } from '../../expertBytes.js';

export function routingInput(
  config: RoutingConfig, E: number, topK: number, logits: readonly number[] | Float32Array,
  bias: readonly number[] | Float32Array | null = null,
): RoutingInput {
  const l = Float32Array.from(logits);
  return { T: l.length / E, E, topK, logits: l, bias: bias === null ? null : Float32Array.from(bias), config };
}

export function routingProblem(input: RoutingInput, logitsDtype: Problem['logitsDtype'] = 'float32',
  biasDtype: Problem['biasDtype'] = input.bias === null ? 'none' : 'float32'): Problem {
  return {
    T: input.T, H: 64, I: 64, E: input.E, topK: input.topK, localOffset: 0, localExperts: input.E,
    routing: input.config, logitsDtype, biasDtype, quantMode: 'nvfp4', activation: { kind: 'swiglu' },
  };
}

/** A Case holding the routing tensors of `input`, in the requested dtypes (bf16: rounded RNE). */
export function routingCase(input: RoutingInput, logitsDtype: Problem['logitsDtype'] = 'float32',
  biasDtype: Problem['biasDtype'] = input.bias === null ? 'none' : 'float32'): Case {
  const problem = routingProblem(input, logitsDtype, biasDtype);
  const empty = { packed: ExpertBytes.allocate(0, 0), scales: ExpertBytes.allocate(0, 0), globalScale: new Float32Array(0) };
  return {
    spec: { problem, seed: 0, logitFamily: 'normal', scaleFamily: 'normal' },
    logits: logitsDtype === 'bfloat16' ? f32ArrayToBf16(input.logits) : input.logits,
    bias: input.bias === null || biasDtype === 'none' ? null
      : biasDtype === 'bfloat16' ? f32ArrayToBf16(input.bias) : input.bias,
    hidden: { format: 'bf16', data: new Uint16Array(0) },
    fc1: empty, fc2: empty,
    out1Scale: new Float32Array(0), out1GateScale: new Float32Array(0), out2Scale: new Float32Array(0),
    fc2InputGlobalScale: 1, swiglu: null,
  };
}
