/**
 * The copy bench (copyBench.ts) on a tiny slice: one table with both settings and the
 * same bytes from each. Needs the addon (built by npm ci), not a GPU.
 */
import test from 'ava';
import { addonLoadedOrSkip } from '../testing.js';
import { copyBench } from './copyBench.js';

test('bench:copy prints the baseline and the default side by side, and the copies agree', async (t) => {
  if (!addonLoadedOrSkip(t)) return;
  const out: string[] = [];
  const code = await copyBench(['--config', 'qwen3-30b-a3b', '--local-experts', '4', '--T', '2', '--reps', '2'], (l) => out.push(l));
  const text = out.join('\n');
  t.is(code, 0, text);
  t.regex(text, /\| one thread \(baseline\) \| \d+\.\d \| \d+\.\d\d \| 1\.00× \|/);
  t.regex(text, /\| default threads \| \d+\.\d \| \d+\.\d\d \| \d+\.\d\d× \|/);
  t.regex(text, /the same bytes every time \(hash [0-9a-f]{16}\)/);
});

test('bench:copy refuses a bad option, naming it', async (t) => {
  const e = await t.throwsAsync(() => copyBench(['--config', 'nope'], () => undefined));
  t.regex(String(e), /--config/);
});
