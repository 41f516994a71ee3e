/**
 * Problem and Case as the raw binding takes them: SPEC names mapped to the addon's own
 * enum numbers through the name tables the addon exports (so TypeScript and C++ cannot
 * disagree), tensors passed as they are. Shape and length checks happen in C++
 * (src/problem_args.cc); here only what the mapping itself needs.
 */
import type { Case } from '../reference/case.js';
import { BadArgumentError, describeValue } from '../reference/errors.js';
import { ExpertBytes } from '../reference/expertBytes.js';
import { hiddenFormat, type Problem } from '../reference/problem.js';
import type { RawBinding, RawCase, RawProblem } from './addon.js';

type EnumTables = ReturnType<RawBinding['enums']>;

function enumValue(tables: EnumTables, table: keyof EnumTables, argument: string, name: unknown): number {
  const names = tables[table];
  const i = typeof name === 'string' ? names.indexOf(name) : -1;
  if (i < 0) throw new BadArgumentError(argument, `one of ${names.join(', ')}`, describeValue(name));
  return i;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

export function rawProblem(tables: EnumTables, p: Problem): RawProblem {
  if (!isObject(p)) throw new BadArgumentError('problem', 'a Problem object', describeValue(p));
  const routing: unknown = p.routing;
  if (!isObject(routing)) throw new BadArgumentError('problem.routing', 'a RoutingConfig object', describeValue(routing));
  const activation: unknown = p.activation;
  if (!isObject(activation)) throw new BadArgumentError('problem.activation', 'an ActivationConfig object', describeValue(activation));
  const method = enumValue(tables, 'routingMethod', 'problem.routing.method', routing.method);
  const deepseek = routing.method === 'deepseek_v3';
  return {
    T: p.T, H: p.H, I: p.I, E: p.E, topK: p.topK, localOffset: p.localOffset, localExperts: p.localExperts,
    routingMethod: method,
    // Only deepseek_v3 reads these; the reference's defaults when absent.
    nGroup: deepseek ? (p.routing.nGroup ?? 1) : 1,
    topkGroup: deepseek ? (p.routing.topkGroup ?? 1) : 1,
    routedScalingFactor: deepseek ? (p.routing.routedScalingFactor ?? 1) : 1,
    logitsDtype: enumValue(tables, 'logitsDtype', 'problem.logitsDtype', p.logitsDtype),
    biasDtype: enumValue(tables, 'biasDtype', 'problem.biasDtype', p.biasDtype),
    quantMode: enumValue(tables, 'quantMode', 'problem.quantMode', p.quantMode),
    activation: enumValue(tables, 'activation', 'problem.activation.kind', activation.kind),
  };
}

/**
 * A weight tensor as the binding takes it: its one chunk, or the array of its chunks (each
 * whole experts; the addon copies them in order into one buffer, src/problem_args.cc
 * ownedCopy). Anything else is passed on for the C++ checks to name.
 */
function weightArg(x: unknown): unknown {
  if (!(x instanceof ExpertBytes)) return x;
  return x.chunks.length === 1 ? x.chunks[0] : [...x.chunks];
}

export function rawCase(tables: EnumTables, c: Case): RawCase {
  if (!isObject(c)) throw new BadArgumentError('case', 'a Case object', describeValue(c));
  const spec: unknown = c.spec;
  if (!isObject(spec)) throw new BadArgumentError('case.spec', 'a CaseSpec object', describeValue(spec));
  const p = c.spec.problem;
  const problem = rawProblem(tables, p);
  const hidden: unknown = c.hidden;
  if (!isObject(hidden)) throw new BadArgumentError('hidden', 'a HiddenStates object', describeValue(hidden));
  const want = hiddenFormat(p.quantMode);
  if (hidden.format !== want) {
    throw new BadArgumentError('hidden.format', `"${want}" (quantMode ${p.quantMode})`, describeValue(hidden.format));
  }
  const h = c.hidden;
  const fc1: unknown = c.fc1;
  const fc2: unknown = c.fc2;
  if (!isObject(fc1)) throw new BadArgumentError('fc1', 'an Fp4Weights object', describeValue(fc1));
  if (!isObject(fc2)) throw new BadArgumentError('fc2', 'an Fp4Weights object', describeValue(fc2));
  const swiglu: unknown = c.swiglu;
  if (swiglu !== null && !isObject(swiglu)) throw new BadArgumentError('swiglu', 'null or {alpha, beta, limit}', describeValue(swiglu));
  return {
    problem,
    logits: c.logits,
    bias: c.bias,
    hidden: h.format === 'nvfp4' ? h.packed : h.data,
    hiddenScales: h.format === 'bf16' ? null : h.scales,
    fc1Packed: weightArg(c.fc1.packed),
    fc1Scales: weightArg(c.fc1.scales),
    fc2Packed: weightArg(c.fc2.packed),
    fc2Scales: weightArg(c.fc2.scales),
    out1Scale: c.out1Scale,
    out1GateScale: c.out1GateScale,
    out2Scale: c.out2Scale,
    swigluAlpha: c.swiglu?.alpha ?? null,
    swigluBeta: c.swiglu?.beta ?? null,
    swigluLimit: c.swiglu?.limit ?? null,
  };
}
