import test from 'ava';
import { BadArgumentError } from '../errors.js';
import { ROUTING_METHODS, type RoutingConfig } from '../problem.js';
import { routeCase, routingMethod, routingMethods } from './registry.js';
import { bf16ArrayToF32, f32ArrayToBf16 } from '../formats/bf16.js';
import { routingCase, routingInput, routingProblem } from './testing/fixtures.js';

test('every SPEC method is registered under its name', (t) => {
  t.deepEqual(routingMethods().map((m) => m.name), [...ROUTING_METHODS]);
  for (const n of ROUTING_METHODS) t.is(routingMethod(n).name, n);
  t.deepEqual(routingMethods().filter((m) => m.usesBias).map((m) => m.name), ['deepseek_v3']);
});

test('an unknown method name throws naming the valid names', (t) => {
  for (const bad of ['Renormalize', 'softmax', '2', '', 'constructor', 'toString']) {
    const err = t.throws(() => routingMethod(bad), { instanceOf: BadArgumentError });
    t.is(err!.argument, 'routing.method');
    for (const n of ROUTING_METHODS) t.true(err!.expected.includes(n));
    t.is(err!.actual, JSON.stringify(bad));
  }
});

const logits = [0.3, 1.7, -0.2, 1.7001, 0.9, -3, 2.4, 0.25];

test('bf16 logits route exactly like their float32 decode; fp32 logits are not rounded', (t) => {
  const config: RoutingConfig = { method: 'renormalize' };
  const input = routingInput(config, 4, 2, logits);
  const fromBf16 = routeCase(routingCase(input, 'bfloat16'));
  const decoded = bf16ArrayToF32(f32ArrayToBf16(input.logits));
  const direct = routingMethod('renormalize').route({ ...input, logits: decoded });
  t.deepEqual(fromBf16, direct);
  // 1.7 and 1.7001 tie in bf16 (lower index wins) but not in float32.
  t.deepEqual(Array.from(fromBf16.ids.subarray(0, 2)), [1, 3]);
  t.deepEqual(Array.from(routeCase(routingCase(input)).ids.subarray(0, 2)), [3, 1]);
});

test('bf16 bias decodes exactly (deepseek_v3)', (t) => {
  const config: RoutingConfig = { method: 'deepseek_v3', nGroup: 2, topkGroup: 1, routedScalingFactor: 2.5 };
  const bias = [0.1, 0.2, 0.30001, 0.3];
  const input = routingInput(config, 4, 1, logits, bias);
  const r16 = routeCase(routingCase(input, 'float32', 'bfloat16'));
  const r32 = routingMethod('deepseek_v3').route({ ...input, bias: bf16ArrayToF32(f32ArrayToBf16(input.bias!)) });
  t.deepEqual(r16, r32);
});

test('routeCase with forcedIds keeps the ids and recomputes the method weights for them', (t) => {
  for (const m of ROUTING_METHODS) {
    const config: RoutingConfig = m === 'deepseek_v3' ? { method: m, nGroup: 1, topkGroup: 1, routedScalingFactor: 2 } : { method: m };
    const k = m === 'llama4' ? 1 : 2;
    const input = routingInput(config, 4, k, logits, m === 'deepseek_v3' ? [0, 0, 0, 0] : null);
    const c = routingCase(input);
    const free = routeCase(c);
    const forced = Int32Array.from(free.ids);
    if (k === 2) [forced[0], forced[1]] = [forced[1]!, forced[0]!];
    const r = routeCase(c, { forcedIds: forced });
    t.is(r.ids, forced, m);
    t.deepEqual(r.selectionScores, free.selectionScores, m);
    if (k === 2) t.deepEqual([r.weights[0], r.weights[1]], [free.weights[1], free.weights[0]], m);
    t.throws(() => routeCase(c, { forcedIds: new Int32Array(3) }), { instanceOf: BadArgumentError, message: /ids: expected Int32Array of length/ });
    const outside = Int32Array.from(forced);
    outside[1] = 4;
    t.throws(() => routeCase(c, { forcedIds: outside }), { instanceOf: BadArgumentError, message: /\[0, E=4\).*got 4/ });
  }
});

test('generic checks name the argument, expected and actual values', (t) => {
  const r = routingMethod('renormalize');
  const base = routingInput({ method: 'renormalize' }, 4, 2, logits);
  const cases: Array<[() => unknown, string, RegExp]> = [
    [() => r.route({ ...base, topK: 0 }), 'topK', /\[1, E=4\].*got 0/],
    [() => r.route({ ...base, topK: 5 }), 'topK', /got 5/],
    [() => r.route({ ...base, E: 3 }), 'logits', /length T·E = 2·3 = 6, got Float32Array\(8\)/],
    [() => r.route({ ...base, bias: new Float32Array(4) }), 'bias', /only deepseek_v3/],
    [() => r.route({ ...base, config: { method: 'renormalize', nGroup: 2 } }), 'routing.nGroup', /absent for method renormalize.*got 2/],
    [() => r.route({ ...base, config: { method: 'topk' } }), 'routing.method', /"renormalize".*got "topk"/],
    [() => r.route({ ...base, T: 0 }), 'T', /integer >= 1, got 0/],
    [() => routingMethod('deepseek_v3').route({ ...base, config: { method: 'deepseek_v3' }, bias: new Float32Array(3) }), 'bias', /length E = 4, got Float32Array\(3\)/],
    [() => routingMethod('llama4').route({ ...base, config: { method: 'llama4' } }), 'topK', /expected 1 for method llama4, got 2/],
    [() => r.validate({ ...routingProblem(base), biasDtype: 'float32' }), 'bias', /only deepseek_v3/],
    [() => r.validate({ ...routingProblem(base), logitsDtype: 'float16' as never }), 'logitsDtype', /float32, bfloat16.*"float16"/],
    [() => routeCase({ ...routingCase(base, 'bfloat16'), logits: base.logits }), 'logits', /Uint16Array.*got Float32Array\(8\)/],
    [() => routeCase({ ...routingCase(base), logits: new Uint16Array(8) }), 'logits', /Float32Array.*got Uint16Array\(8\)/],
  ];
  for (const [fn, arg, msg] of cases) {
    const err = t.throws(fn, { instanceOf: BadArgumentError }, arg);
    t.is(err!.argument, arg);
    t.regex(err!.message, msg);
  }
});
