import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { BadArgumentError } from '../reference/errors.js';
import { CONFIG_NAMES, configProblem } from '../reference/configs.js';
import type { Problem } from '../reference/problem.js';
import { assertValidTactic, defaultTactic, deviceMemoryEstimate, streamSplit, tacticConfigs, validTactics, type NativeTactic } from './index.js';
import { tinyProblem } from './testing.js';
import { runs } from '../properties/runs.js';

const label = (t: NativeTactic): string => `${t.tileTokens}/${t.config}`;

function allTactics(): NativeTactic[] {
  const { tileTokens, configs } = tacticConfigs();
  return configs.flatMap((c) => tileTokens.map((tt) => ({ tileTokens: tt, config: c.config })));
}

/** The enumeration is well formed, unique, contains the default, and agrees with the check. */
function checkEnumeration(t: { true(v: boolean, m?: string): void; is(a: unknown, b: unknown, m?: string): void }, p: Problem): void {
  const valid = validTactics(p);
  const grid = allTactics();
  t.true(valid.length > 0, 'no tactic');
  const labels = valid.map(label);
  t.is(new Set(labels).size, labels.length, `duplicates in ${labels.join(' ')}`);
  for (const v of valid) t.true(grid.some((g) => label(g) === label(v)), `${label(v)} is not in the table`);
  const d = defaultTactic(p);
  t.true(labels.includes(label(d)), `default ${label(d)} not enumerated`);
  t.true(d.reason.length > 0);
  for (const g of grid) {
    const ok = labels.includes(label(g));
    let threw: unknown = null;
    try {
      assertValidTactic(p, g);
    } catch (e) {
      threw = e;
    }
    t.is(threw === null, ok, `${label(g)}: listed=${ok} but check ${threw === null ? 'passed' : 'threw'}`);
    if (threw !== null) {
      t.true(threw instanceof BadArgumentError && threw.argument === 'tactic' && threw.message.includes(label(g)), String(threw));
    }
  }
}

for (const name of CONFIG_NAMES) {
  test(`validTactics enumerates tactics for ${name}`, (t) => {
    for (const T of [1, 3, 64, 1000, 16384]) checkEnumeration(t, configProblem(name, T));
  });
}

test('split-K (config 2) needs I >= 512; the wide tile needs I >= 64 and H >= 128', (t) => {
  const small = validTactics(tinyProblem());
  t.false(small.some((v) => v.config === 2 || v.config === 1));
  const mixtral = validTactics(configProblem('mixtral-8x7b', 16));
  t.true(mixtral.some((v) => v.config === 2) && mixtral.some((v) => v.config === 1));
  const err = t.throws(() => assertValidTactic(tinyProblem(), { tileTokens: 8, config: 2 }));
  t.true(err instanceof BadArgumentError && /8\/2/.test(err.message) && /split-K/.test(err.message), String(err));
});

test('configs 3-6 take only the tileTokens their kernels are built for (3: 8, 16; 4, 5 and 6: 64, 128), naming the range', (t) => {
  const p = configProblem('qwen3-30b-a3b', 512);
  const labels = validTactics(p).map(label);
  for (const ok of ['8/3', '16/3', '64/4', '128/4', '64/5', '128/5', '64/6', '128/6']) t.true(labels.includes(ok), `${ok} missing from ${labels.join(' ')}`);
  for (const bad of [{ tileTokens: 32, config: 3 }, { tileTokens: 128, config: 3 }, { tileTokens: 32, config: 4 }, { tileTokens: 8, config: 5 }, { tileTokens: 16, config: 6 }]) {
    const err = t.throws(() => assertValidTactic(p, bad));
    t.true(err instanceof BadArgumentError && /is built for tileTokens/.test(err.message), String(err));
  }
  // The 128-row weight tile of configs 4-6 needs I >= 64 and H >= 128, like config 1.
  const small = validTactics(tinyProblem()).map(label);
  t.false(small.some((l) => l.endsWith('/4') || l.endsWith('/5') || l.endsWith('/6')), small.join(' '));
  t.true(small.includes('8/3'));
});

test('the default follows the rule table by expected rows per expert r = T·topK/E (bench:kernel, issue 18)', (t) => {
  const cases: [string, number, string][] = [
    ['deepseek-v3', 1, '8/3'], ['deepseek-v3', 64, '8/3'], ['deepseek-v3', 512, '64/5'], ['deepseek-v3', 4096, '128/5'],
    ['gpt-oss-120b', 512, '64/5'], ['qwen3-235b-a22b', 8, '8/3'], ['mixtral-8x7b', 64, '64/5'], ['mixtral-8x7b', 512, '128/5'],
  ];
  for (const [name, T, want] of cases) {
    const d = defaultTactic(configProblem(name, T));
    t.is(label(d), want, `${name} T=${T}: ${d.reason}`);
    t.regex(d.reason, /expected rows per expert/);
  }
  // Where the 128-row weight tile of config 5 does not fit (I < 64), the rule's next choice, named.
  const small = defaultTactic(tinyProblem({ T: 64, E: 4, localExperts: 4 }));
  t.is(label(small), '16/3', small.reason);
  t.regex(small.reason, /first choice does not fit/);
});

test('a tactic outside the table is refused, naming it', (t) => {
  for (const bad of [{ tileTokens: 24, config: 0 }, { tileTokens: 8, config: 7 }, { tileTokens: 256, config: 1 }, { tileTokens: -8, config: 0 }]) {
    const err = t.throws(() => assertValidTactic(configProblem('qwen3-30b-a3b', 8), bad));
    t.true(err instanceof BadArgumentError && err.argument.startsWith('tactic'), String(err));
  }
});

const problemArb = fc.record({
  T: fc.integer({ min: 1, max: 20000 }),
  Hb: fc.integer({ min: 1, max: 256 }),
  Ib: fc.integer({ min: 1, max: 512 }),
  E: fc.integer({ min: 1, max: 1024 }),
  k: fc.integer({ min: 1, max: 32 }),
  mode: fc.constantFrom('nvfp4', 'mxfp4_mxfp8', 'mxfp4_bf16'),
}).map(({ T, Hb, Ib, E, k, mode }): Problem => {
  const blk = mode === 'nvfp4' ? 16 : 32;
  const topK = Math.min(k, E);
  return tinyProblem({ T: Math.max(1, Math.floor(T / topK)), H: Hb * blk, I: Ib * blk, E, topK, localExperts: E, quantMode: mode as Problem['quantMode'] });
});

testProp('random well-formed problems: enumeration and check agree', [problemArb], (t, p) => {
  checkEnumeration(t, p);
}, { numRuns: runs(60) });

test('config 3 splits K only where its grid is small, into whole chunks, no slice empty, FC2 within config 2 (streamSplit)', (t) => {
  let fc1Split = 0;
  let fc2Split = 0;
  for (const name of CONFIG_NAMES) {
    for (const T of [1, 2, 8, 16, 64, 512, 4096]) {
      const p = configProblem(name, T);
      const workspace: number[] = [];
      for (const tileTokens of [8, 16]) {
        const s = streamSplit(p, { tileTokens, config: 3 });
        const where = `${name} T=${T} ${tileTokens}/3`;
        const sides = [
          { side: 'FC1', S: s.fc1Slices, ctas: s.fc1Ctas, chunks: s.fc1Chunks, cap: 4 },
          { side: 'FC2', S: s.fc2Slices, ctas: s.fc2Ctas, chunks: s.fc2Chunks, cap: s.splitKSlices },
        ];
        for (const { side, S, ctas, chunks, cap } of sides) {
          if (S === 0) continue;
          t.true(ctas < s.splitBelowCtas, `${where} ${side}: split although its grid has ${ctas} CTAs`);
          t.true(S >= 2 && S <= cap, `${where} ${side}: ${S} slices, expected 2..${cap}`);
          t.true(S <= Math.ceil(s.splitBelowCtas / ctas), `${where} ${side}: ${S} slices overshoot ${s.splitBelowCtas} CTAs`);
          const per = Math.ceil(chunks / S);
          t.true((S - 1) * per < chunks, `${where} ${side}: ${S} slices of ${per} chunks leave the last of ${chunks} empty`);
        }
        t.is(s.fc1WorkspaceBytes > 0, s.fc1Slices > 0, `${where}: FC1 workspace ${s.fc1WorkspaceBytes} with ${s.fc1Slices} slices`);
        workspace.push(s.fc1WorkspaceBytes);
        if (s.fc1Slices > 0) fc1Split++;
        if (s.fc2Slices > 0) fc2Split++;
      }
      const item = deviceMemoryEstimate(p).items.find((i) => i.name.startsWith('decode FC1 split'));
      t.is(item?.bytes ?? 0, Math.max(...workspace), `${name} T=${T}: the device estimate counts the larger FC1 split workspace`);
    }
  }
  t.true(fc1Split > 0 && fc2Split > 0, `the cases exercise both splits (FC1 ${fc1Split}, FC2 ${fc2Split})`);
});

test('streamSplit refuses a tactic of another config, naming it', (t) => {
  const err = t.throws(() => streamSplit(configProblem('gpt-oss-120b', 1), { tileTokens: 64, config: 5 }));
  t.true(err instanceof BadArgumentError && err.argument === 'tactic' && /64\/5/.test(err.message), String(err));
});

