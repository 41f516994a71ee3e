/**
 * ci/tap-to-junit.sh: ava's TAP (a captured run: ci/fixtures/ava-sample.tap, one pass per
 * kind of outcome) becomes JUnit that an independent XML parser reads back with the right
 * counts and the failing assertion's message.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, 'tap-to-junit.sh');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'moe-harness-tap-'));

interface Tc { '@_name': string; failure?: { '@_message': string }; skipped?: unknown }

test('ava TAP → JUnit: one testcase per test point; failures with their message; skips', (t) => {
  const out = join(tmp(), 'junit', 'ava.xml');
  const r = spawnSync('bash', [script, join(here, 'fixtures', 'ava-sample.tap'), out, 'ava-cpu'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /tap-to-junit: .*ava\.xml: <testsuite name="ava-cpu" tests="8" skipped="1" failures="2">/);
  const xml = readFileSync(out, 'utf8');
  t.is(XMLValidator.validate(xml), true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', isArray: (n) => n === 'testcase' || n === 'testsuite' }).parse(xml) as {
    testsuites: { testsuite: Array<{ '@_tests': string; '@_failures': string; '@_skipped': string; testcase: Tc[] }> };
  };
  const s = doc.testsuites.testsuite[0]!;
  t.deepEqual([s['@_tests'], s['@_failures'], s['@_skipped']], ['8', '2', '1']);
  t.is(s.testcase.length, 8);
  const failed = s.testcase.find((c) => c['@_name'] === 'zz_tmpfail › fails with a message')!;
  t.is(failed.failure!['@_message'], 'arithmetic & <xml> "quotes"');
  t.true('skipped' in s.testcase.find((c) => c['@_name'] === 'zz_tmpfail › skipped one')!);
  t.false('failure' in s.testcase.find((c) => c['@_name'] === 'zz_tmpfail › passes')!);
});

test('a missing TAP file or an odd output name: exit 1 naming it, nothing written', (t) => {
  const dir = tmp();
  const a = spawnSync('bash', [script, join(dir, 'none.tap'), join(dir, 'x.xml')], { encoding: 'utf8' });
  t.is(a.status, 1);
  t.regex(a.stderr, /TAP_FILE: expected a file, got .*none\.tap \(missing\)/);
  const b = spawnSync('bash', [script, join(here, 'fixtures', 'ava-sample.tap'), join(dir, 'a b.xml')], { encoding: 'utf8' });
  t.is(b.status, 1);
  t.regex(b.stderr, /JUNIT_FILE: expected a file name of letters, digits/);
  t.false(existsSync(join(dir, 'x.xml')));
});

test('npm\'s own lines and ava\'s warnings around the TAP (as in .ci/run\'s log) are ignored', (t) => {
  const dir = tmp();
  const log = join(dir, 'npm-test.log');
  writeFileSync(log, `\n> moe-harness@0.1.0 test\n> npm run typecheck && npm run build:ts && ava --tap\n\n${readFileSync(join(here, 'fixtures', 'ava-sample.tap'), 'utf8')}\n!! moe-harness GPU suites SKIPPED: no usable CUDA device\n`);
  const r = spawnSync('bash', [script, log, join(dir, 'junit.xml')], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /<testsuite name="ava" tests="8" skipped="1" failures="2">/);
});
