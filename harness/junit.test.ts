/**
 * JUnit XML written by `check --junit`, read back with an independent XML parser
 * (fast-xml-parser, with its validator): counts per outcome and a failure's text.
 */
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { main } from './cli.js';
import { junitXml, type JunitRecord } from './junit.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'moe-harness-junit-'));

interface Tc {
  '@_classname': string;
  '@_name': string;
  '@_time': string;
  failure?: { '#text': string; '@_message': string; '@_type': string };
  error?: { '#text': string; '@_message': string; '@_type': string };
  skipped?: { '@_message': string };
}

interface Suite {
  '@_name': string;
  '@_tests': string;
  '@_failures': string;
  '@_errors': string;
  '@_skipped': string;
  testcase?: Tc[];
  properties?: { property: Array<{ '@_name': string; '@_value': string }> };
}

function parse(xml: string): { root: Record<string, string>; suites: Suite[] } {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`invalid XML: ${JSON.stringify(valid)}`);
  const p = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseAttributeValue: false, isArray: (n) => ['testsuite', 'testcase', 'property'].includes(n) });
  const doc = p.parse(xml) as { testsuites: Record<string, string> & { testsuite: Suite[] } };
  return { root: doc.testsuites, suites: doc.testsuites.testsuite };
}

const rec = (caseIndex: number, tactic: string, disposition: string, findings: string[] = []): JunitRecord => ({
  caseIndex, problem: `T=${caseIndex + 1} H=128 I=64 E=8 k=2 renormalize nvfp4`, tactic, disposition, findings,
  replay: `npx moe-harness replay --case '{"seed":${caseIndex}}' --tactic ${tactic} --kernel emulated`, ms: 12.5,
});

test('every disposition maps to its JUnit element; unknown ones become errors, never passes', (t) => {
  const xml = junitXml([{
    name: 'moe-harness check emulated',
    records: [
      rec(0, '8/0', 'passed'),
      rec(0, '8/1', 'incorrect', ['out[t=3,h=17]=0.512, reference 0.498 (bound 0.004; tactic 8/1; seed 0)', 'second line']),
      rec(1, '8/0', 'crashed', ['tactic=crashed, reference a result (CUDA error: illegal address; tactic 8/0; seed 1)']),
      rec(2, '*', 'not_supported', ['problem=not supported, reference - (E > 512; tactic *; seed 2)']),
      rec(3, '8/0', 'error', ['harness=no verdict, reference - (reference failed; tactic 8/0; seed 3)']),
      rec(4, '8/0', 'vanished', ['odd\u0001control <&> "chars"']),
    ],
    properties: { kernel: 'emulated', seed: 7, notice: undefined },
  }]);
  const { root, suites } = parse(xml);
  t.is(suites.length, 1);
  const s = suites[0]!;
  t.deepEqual([s['@_tests'], s['@_failures'], s['@_errors'], s['@_skipped']], ['6', '2', '2', '1']);
  t.deepEqual([root['@_tests'], root['@_failures'], root['@_errors'], root['@_skipped']], ['6', '2', '2', '1']);
  const tcs = s.testcase!;
  t.is(tcs[0]!['@_classname'], 'case 0 T=1 H=128 I=64 E=8 k=2 renormalize nvfp4');
  t.is(tcs[0]!['@_name'], '8/0');
  t.is(tcs[0]!['@_time'], '0.013');
  t.false('failure' in tcs[0]! || 'error' in tcs[0]! || 'skipped' in tcs[0]!);
  t.is(tcs[1]!.failure!['@_type'], 'incorrect');
  t.is(tcs[1]!.failure!['@_message'], 'out[t=3,h=17]=0.512, reference 0.498 (bound 0.004; tactic 8/1; seed 0)');
  t.is(tcs[1]!.failure!['#text'], `out[t=3,h=17]=0.512, reference 0.498 (bound 0.004; tactic 8/1; seed 0)\nsecond line\nreplay: ${rec(0, '8/1', '').replay}`);
  t.is(tcs[2]!.failure!['@_type'], 'crashed');
  t.regex(tcs[3]!.skipped!['@_message'], /not supported/);
  t.is(tcs[4]!.error!['@_type'], 'error');
  t.regex(tcs[5]!.error!['@_message'], /^unknown disposition "vanished": odd\uFFFDcontrol <&> "chars"$/);
  t.deepEqual(s.properties!.property.map((p) => [p['@_name'], p['@_value']]), [['kernel', 'emulated'], ['seed', '7']]);
});

test('check --junit: one testcase per (case, tactic) record; a fault\'s failures carry findings and the replay command', async (t) => {
  const dir = tmp();
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['check', '--kernel', 'emulated', '--fault', 'gate_up_swapped', '--runs', '3', '--isolation', 'inline', '--quiet',
    '--report', join(dir, 'r'), '--junit', join(dir, 'junit.xml')], { out: (s) => out.push(s), err: (s) => err.push(s) });
  t.is(code, 1, err.join('\n'));
  const report = JSON.parse(readFileSync(join(dir, 'r', 'report.json'), 'utf8')) as {
    records: Array<{ caseIndex: number; tactic: string; disposition: string; findings: string[]; replay: string }>;
  };
  const { suites } = parse(readFileSync(join(dir, 'junit.xml'), 'utf8'));
  const s = suites[0]!;
  const n = (d: string): number => report.records.filter((r) => r.disposition === d).length;
  t.true(n('incorrect') > 0, 'the fault must be caught');
  t.is(Number(s['@_tests']), report.records.length);
  t.is(Number(s['@_failures']), n('incorrect') + n('crashed'));
  t.is(Number(s['@_skipped']), n('not_supported'));
  t.is(s.testcase!.length, report.records.length);
  const bad = report.records.find((r) => r.disposition === 'incorrect')!;
  const tc = s.testcase!.find((x) => x['@_classname'].startsWith(`case ${bad.caseIndex} `) && x['@_name'] === bad.tactic)!;
  t.truthy(tc.failure);
  // The finding grammar of harness/verdict.ts, then the replay command.
  t.regex(tc.failure!['@_message'], /^\S+=\S+, reference \S+ \(.*; tactic \d+\/\d+; seed \d+\)$/);
  t.is(tc.failure!['#text'], [...bad.findings, `replay: ${bad.replay}`].join('\n'));
  t.regex(tc.failure!['#text'], /replay: npx moe-harness replay --case '.*' --tactic \d+\/\d+ --kernel emulated --fault gate_up_swapped/);
});
