import test from 'ava';
import { CONFIG_TRAITS } from './configTraits.js';
import { tacticPattern } from './tacticPattern.js';

const grid = (tiles: number[], configs: number[]): string[] => tiles.flatMap((t) => configs.map((c) => `${t}/${c}`));
const ran = grid([8, 16, 32, 64, 128], [0, 1, 2]).filter((l) => l !== '128/2');
const native = CONFIG_TRAITS.native!;

test('every tactic failing: not a tiling bug', (t) => {
  const p = tacticPattern(ran, ran, native);
  t.is(p.kind, 'all');
  t.regex(p.text, /^all 14 tactics: not a tiling bug/);
  t.is(p.key, tacticPattern(['8/0', '8/1'], ['8/0', '8/1'], native).key);
});

test('only the split-K config (native config 2) failing: only split-K tactics', (t) => {
  const p = tacticPattern(ran.filter((l) => l.endsWith('/2')), ran, native);
  t.is(p.kind, 'split_k');
  t.regex(p.text, /^only split-K tactics \(config 2 \(w64-splitk-fc2\)\)/);
  // The same set on a kernel whose config 2 is not split-K is only "config 2".
  const q = tacticPattern(ran.filter((l) => l.endsWith('/2')), ran, CONFIG_TRAITS.emulated!);
  t.is(q.kind, 'config');
  t.regex(q.text, /^only config 2 \(MMA-like chain of 16-term blocks\) tactics, every tile size/);
  t.is(tacticPattern(ran.filter((l) => l.endsWith('/1')), ran, CONFIG_TRAITS.emulated!).kind, 'split_k');
  t.is(tacticPattern(ran.filter((l) => l.endsWith('/2')), ran, null).text.startsWith('only config 2 tactics'), true);
});

test('tile sizes: one, a threshold from above and from below', (t) => {
  const top = tacticPattern(['128/0', '128/1'], ran, native);
  t.regex(top.text, /^only tileTokens 128 \(the largest tileTokens of the case\), every config/);
  t.regex(top.key, /^only the largest tileTokens of the case, every config/);
  t.regex(tacticPattern(ran.filter((l) => Number(l.split('/')[0]) >= 64), ran, native).text, /^only tileTokens ≥ 64, every config/);
  t.regex(tacticPattern(ran.filter((l) => Number(l.split('/')[0]) <= 16), ran, native).text, /^only tileTokens ≤ 16, every config/);
  t.regex(tacticPattern(ran.filter((l) => ['8', '32'].includes(l.split('/')[0]!)), ran, native).text, /^only tileTokens 8, 32, every config/);
});

test('one tactic, a config at some tile sizes, and no pattern', (t) => {
  const one = tacticPattern(['128/0'], ran, native);
  t.is(one.kind, 'single');
  t.regex(one.text, /^only tactic 128\/0 \(tileTokens 128, the largest tileTokens of the case, config 0 \(w64-pipelined\)\)/);
  // The key holds across cases whose largest tile differs (e.g. 16 for T = 8, 128 for T = 64).
  t.is(one.key, tacticPattern(['16/0'], grid([8, 16], [0, 1, 2]), native).key);
  t.regex(one.key, /^only the largest tileTokens of the case with config 0 \(w64-pipelined\)/);
  t.is(tacticPattern(['32/1'], ran, native).text, tacticPattern(['32/1'], ran, native).key);
  const both = tacticPattern(['64/0', '128/0'], ran, native);
  t.is(both.kind, 'config_and_tile');
  t.regex(both.text, /^only config 0 \(w64-pipelined\) with tileTokens ≥ 64:/);
  const some = tacticPattern(['8/0', '64/1'], ran, native);
  t.is(some.kind, 'some');
  t.is(some.text, 'tactic-specific: 2 of 14 tactics (8/0, 64/1)');
  t.is(tacticPattern(['8/0'], ['8/0'], native).kind, 'one_ran');
  t.is(tacticPattern(['x'], ['x', 'y'], native).kind, 'some');
});
