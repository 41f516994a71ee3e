import test from 'ava';
import { generateCase, dequantizeExpertWeights } from '../../reference/generate.js';
import { routingInputFromCase } from '../../reference/routing/routingInput.js';
import { POISON } from '../caseRunner.js';
import { testProblem } from '../../reference/testing/testProblem.js';
import { EmulatedKernel } from './emulated.js';
import { dequantizeWeights } from './emulatedDequant.js';
import { emulatedRouting } from './emulatedRouting.js';
import { emulatedTacticInvalidity, emulatedTactics } from './emulatedTactics.js';
import { makeTactic } from './kernel.js';

test('tactic table: 5 tile sizes × 3 configs, filtered by the stated validity rules', (t) => {
  t.is(emulatedTactics(testProblem({ T: 64, H: 128, I: 128 })).length, 14); // 128/2 invalid
  const small = emulatedTactics(testProblem({ T: 1, H: 96, I: 64 }));
  t.deepEqual(small.map((x) => x.label), ['8/0', '8/2', '16/0', '16/2']); // config 1 needs H % 64 == 0
  t.regex(emulatedTacticInvalidity(testProblem({ T: 3 }), 32, 0)!, /tileTokens 32 > 2·max\(T=3, 8\)/);
  t.regex(emulatedTacticInvalidity(testProblem(), 8, 3)!, /config 3 not in/);
});

test('its weight dequantization equals the reference\'s (q·s, no global scale)', (t) => {
  for (const quantMode of ['nvfp4', 'mxfp4_mxfp8'] as const) {
    const c = generateCase({ problem: testProblem({ quantMode, H: 64, I: 64, E: 4, localExperts: 4 }), seed: 3, logitFamily: 'normal', scaleFamily: 'decades' });
    for (let l = 0; l < 4; l++) {
      t.deepEqual(dequantizeWeights(c, c.fc1, l, 128, 64), dequantizeExpertWeights(c, 'fc1', l));
      t.deepEqual(dequantizeWeights(c, c.fc2, l, 64, 64), dequantizeExpertWeights(c, 'fc2', l));
    }
  }
});

test('the tie fault picks the higher index among identical logits, the correct routing the lower', (t) => {
  const c = generateCase({ problem: testProblem({ T: 1, E: 4, localExperts: 4, topK: 1 }), seed: 1, logitFamily: 'uniform', scaleFamily: 'normal' });
  const input = routingInputFromCase(c);
  t.deepEqual(Array.from(emulatedRouting(input, undefined).ids), [0]);
  t.deepEqual(Array.from(emulatedRouting(input, 'ties_high_index').ids), [3]);
});

test('runs write every element, honour the poison only when faulted, and are deterministic', async (t) => {
  const c = generateCase({ problem: testProblem({ T: 5 }), seed: 2, logitFamily: 'normal', scaleFamily: 'normal' });
  const k = new EmulatedKernel();
  const h = await k.prepare(c);
  const tac = makeTactic(8, 0);
  const a = await k.run(h, tac, { poison: POISON[0] });
  const b = await k.run(h, tac, { poison: POISON[1] });
  t.deepEqual(a.output, b.output);
  t.false(a.output.includes(POISON[0]));
  const f = new EmulatedKernel({ fault: 'last_row_unwritten' });
  const hf = await f.prepare(c);
  const o = await f.run(hf, tac, { poison: POISON[0] });
  t.true(o.output.subarray(4 * 64).every((v) => v === POISON[0]));
  t.is(await k.inputsDigest(h), await f.inputsDigest(hf));
});

test('bad arguments name the argument', async (t) => {
  t.throws(() => new EmulatedKernel({ fault: 'nope' as never }), { message: /^fault: expected one of dropped_last_partial_tile/ });
  const c = generateCase({ problem: testProblem({ T: 2 }), seed: 2, logitFamily: 'normal', scaleFamily: 'normal' });
  const k = new EmulatedKernel();
  const h = await k.prepare(c);
  await t.throwsAsync(k.run(h, makeTactic(128, 0), { poison: 0 }), { message: /^tactic: expected a tactic the emulated kernel enumerates.*128\/0/ });
});
