import test from 'ava';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LOGIT_FAMILIES } from '../reference/case.js';
import { QUANT_MODES, ROUTING_METHODS } from '../reference/problem.js';
import { GOLDEN_CASES } from './cases.js';
import { loadGoldenCase } from './goldenFiles.js';
import {
  assertGoldenFiles, checkGoldenFiles, GOLDENS_DIR, MANIFEST_FORMAT, parseManifest, readManifest, writeManifest,
  type GoldenManifest,
} from './manifest.js';

const manifest = readManifest();

test('every file matches the manifest (size and sha256)', (t) => {
  t.deepEqual(checkGoldenFiles(manifest), []);
});

test('the manifest holds exactly the cases of goldens/cases.ts, with the same specs', (t) => {
  t.deepEqual(manifest.cases.map((c) => c.name), GOLDEN_CASES.map((c) => c.name),
    'goldens/cases.ts and goldens/manifest.json list different cases: run `npm run goldens:update`');
  for (const def of GOLDEN_CASES) {
    const e = manifest.cases.find((c) => c.name === def.name);
    t.deepEqual(e?.spec, def.spec, `${def.name}: spec changed in cases.ts; run \`npm run goldens:update -- ${def.name}\``);
    t.is(e?.seed, def.spec.seed);
  }
});

test('the set spans every routing method, quant mode and edge family, within 25 MB', (t) => {
  const specs = manifest.cases.map((c) => c.spec);
  const problems = specs.map((s) => s.problem);
  t.true(manifest.cases.length >= 24, `${manifest.cases.length} cases`);
  t.deepEqual(new Set(problems.map((p) => p.routing.method)), new Set(ROUTING_METHODS));
  t.deepEqual(new Set(problems.map((p) => p.quantMode)), new Set(QUANT_MODES));
  for (const m of ROUTING_METHODS) {
    for (const q of QUANT_MODES) t.true(problems.some((p) => p.routing.method === m && p.quantMode === q), `${m} x ${q}`);
  }
  const has = (what: string, pred: (i: number) => boolean): void => {
    t.true(specs.some((_, i) => pred(i)), what);
  };
  has('T = 1', (i) => problems[i]!.T === 1);
  for (const f of LOGIT_FAMILIES.filter((f) => f !== 'normal')) has(`logit family ${f}`, (i) => specs[i]!.logitFamily === f);
  has('deepseek_v3 tiny sigmoid with bias', (i) => specs[i]!.logitFamily === 'tiny_sigmoid' && problems[i]!.routing.method === 'deepseek_v3' && problems[i]!.biasDtype !== 'none');
  has('EP slice with a nonzero offset', (i) => problems[i]!.localOffset > 0 && problems[i]!.localExperts < problems[i]!.E);
  has('zero hidden states', (i) => specs[i]!.scaleFamily === 'zero_hidden');
  has('a residue shape (H or I not a multiple of 64)', (i) => problems[i]!.H % 64 !== 0 || problems[i]!.I % 64 !== 0);
  has('bf16 logits', (i) => problems[i]!.logitsDtype === 'bfloat16');
  has('clamped SwiGLU', (i) => problems[i]!.activation.kind === 'swiglu_clamped');
  has('a SPEC §6 configuration', (i) => problems[i]!.name !== undefined);
  const total = manifest.cases.reduce((s, c) => s + c.files.inputs.bytes + c.files.expected.bytes, 0);
  t.true(total < 25e6, `${total} bytes`);
});

test('every golden loads: safetensors headers, dtypes and shapes agree with its problem', (t) => {
  for (const e of manifest.cases) {
    const g = loadGoldenCase(e);
    t.is(g.case.spec.problem.T, e.spec.problem.T);
    t.is(g.expected.outputBf16.length, e.spec.problem.T * e.spec.problem.H, e.name);
    t.is(g.expected.provenance.precision, e.producer.precision, e.name);
  }
});

/** A goldens directory in tmp with the manifest restricted to `names` and their files copied. */
function copyGoldens(names: readonly string[]): { dir: string; m: GoldenManifest } {
  const dir = mkdtempSync(join(tmpdir(), 'goldens-'));
  const m: GoldenManifest = { format: MANIFEST_FORMAT, cases: manifest.cases.filter((c) => names.includes(c.name)) };
  for (const c of m.cases) {
    for (const f of [c.files.inputs, c.files.expected]) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      copyFileSync(join(GOLDENS_DIR, f.path), join(dir, f.path));
    }
  }
  writeManifest(m, dir);
  return { dir, m };
}

test('a tampered, truncated or missing copy fails, naming the file', (t) => {
  const names = manifest.cases.slice(0, 3).map((c) => c.name);
  const { dir, m } = copyGoldens(names);
  try {
    t.deepEqual(checkGoldenFiles(readManifest(dir), dir), [], 'a faithful copy passes');
    const [a, b, c] = m.cases;
    const tampered = join(dir, a!.files.expected.path);
    const bytes = readFileSync(tampered);
    bytes[bytes.length - 1] ^= 0x01; // one bit of the last tensor
    writeFileSync(tampered, bytes);
    truncateSync(join(dir, b!.files.inputs.path), b!.files.inputs.bytes - 7);
    rmSync(join(dir, c!.files.expected.path));
    const problems = checkGoldenFiles(m, dir);
    t.deepEqual(problems.map((p) => p.file), [a!.files.expected.path, b!.files.inputs.path, c!.files.expected.path]);
    t.regex(problems[0]!.problem, /^sha256 [0-9a-f]{64}, manifest says/);
    t.regex(problems[1]!.problem, /truncated/);
    t.regex(problems[2]!.problem, /missing/);
    const err = t.throws(() => assertGoldenFiles(m, dir));
    t.true(err?.message.includes(a!.files.expected.path) && err.message.includes(b!.files.inputs.path), err?.message);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseManifest rejects malformed manifests', (t) => {
  const good = JSON.stringify(manifest);
  t.notThrows(() => parseManifest(good));
  t.throws(() => parseManifest('{'), { message: /valid JSON/ });
  t.throws(() => parseManifest(JSON.stringify({ ...manifest, format: 'x' })), { message: /format/ });
  const dup = { ...manifest, cases: [manifest.cases[0], manifest.cases[0]] };
  t.throws(() => parseManifest(JSON.stringify(dup)), { message: /unique name/ });
  const badSha = { ...manifest, cases: [{ ...manifest.cases[0]!, files: { ...manifest.cases[0]!.files, inputs: { ...manifest.cases[0]!.files.inputs, sha256: 'abc' } } }] };
  t.throws(() => parseManifest(JSON.stringify(badSha)), { message: /files\.inputs/ });
  const escape = { ...manifest, cases: [{ ...manifest.cases[0]!, files: { ...manifest.cases[0]!.files, expected: { ...manifest.cases[0]!.files.expected, path: '../x' } } }] };
  t.throws(() => parseManifest(JSON.stringify(escape)), { message: /files\.expected/ });
});
