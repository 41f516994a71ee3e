/**
 * ci/device-plan/ holds the scripts a device call runs. Device time is scarce (30 minutes a
 * session, often less after refused starts), so a script that fails at once — a syntax error, a
 * path that moved, an option the CLI refuses (exit 2) — wastes a whole call. Checked here, on
 * every CI machine: each script parses (`bash -n`), each numbered script is in the plan's README,
 * each repository path a script names exists, and each `moe-harness.js check` command line parses
 * with the CLI's own option table.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../harness/cliArgs.js';
import { OPTIONS } from '../harness/cli.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const planDir = join(root, 'ci', 'device-plan');
const scripts = readdirSync(planDir).filter((f) => f.endsWith('.sh')).sort();
const text = (f: string): string => readFileSync(join(planDir, f), 'utf8');

/** Repository paths a script names (built outputs under dist/ and native/build/ excepted). */
function namedPaths(script: string): string[] {
  const found = script.matchAll(/(?<![\w/.$-])((?:ci|native|goldens|harness|bin|reference|properties|adapters)\/[\w./-]*\.(?:sh|ts|js|mjs|py))/g);
  return [...new Set([...found].map((m) => m[1]).filter((p) => !p.startsWith('native/build/')))];
}

/** The argument lists of `moe-harness.js check …` in a script, with $c / $T / $t given sample values. */
function checkCommandLines(script: string): string[][] {
  const out: string[][] = [];
  for (const m of script.matchAll(/moe-harness\.js check ([^\n]*)/g)) {
    const line = m[1].split(/\s(?:>|2>|\||;|&&)/)[0];
    const args = [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((a) => a[1] ?? a[2] ?? a[3]);
    out.push(args.map((a) => a.replace(/\$\{?c\}?/g, 'gpt-oss-120b').replace(/\$\{?T\}?/g, '1').replace(/\$\{?t\}?/g, '8/3')));
  }
  return out;
}

test('the device plan has scripts (not vacuous)', (t) => {
  t.true(scripts.length >= 5, `only ${scripts.length} scripts in ci/device-plan`);
});

for (const f of scripts) {
  test(`ci/device-plan/${f}: parses (bash -n), is in the README, names existing paths, passes valid check options`, (t) => {
    const r = spawnSync('bash', ['-n', join(planDir, f)], { encoding: 'utf8' });
    t.is(r.status, 0, `bash -n ${f}: ${r.stderr}`);
    if (/^\d+-/.test(f)) t.true(text('README.md').includes(`\`${f}\``), `${f} is not described in ci/device-plan/README.md`);
    const s = text(f);
    for (const p of namedPaths(s)) t.true(existsSync(join(root, p)), `${f} names ${p}, which does not exist`);
    for (const args of checkCommandLines(s)) {
      t.notThrows(() => parseArgs(args, OPTIONS, 'check'), `${f}: moe-harness check ${args.join(' ')}`);
      t.false(args.some((a) => a.includes('$')), `${f}: a variable the test does not know in: ${args.join(' ')}`);
    }
  });
}

test('the checks above see a missing path and a refused option', (t) => {
  const s = "node bin/moe-harness.js check --kernel native --config $c --tactic '8/3' --runz 2 > $OUT/x.txt\nbash ci/no-such-script.sh\nls native/build/bench/moe_bench dist/native/x.js";
  t.deepEqual(namedPaths(s), ['bin/moe-harness.js', 'ci/no-such-script.sh']);
  const [args] = checkCommandLines(s);
  t.deepEqual(args, ['--kernel', 'native', '--config', 'gpt-oss-120b', '--tactic', '8/3', '--runz', '2']);
  t.throws(() => parseArgs(args, OPTIONS, 'check'));
});
