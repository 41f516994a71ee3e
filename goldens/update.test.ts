import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GOLDENS_DIR, MANIFEST_FILE, readManifest } from './manifest.js';
import { isCi, main, parseUpdateArgs, updateGoldens } from './update.js';

test('argument parsing: names, options, unknown names and options', (t) => {
  t.like(parseUpdateArgs(['t1', '--dry-run', '--precision', 'float32']), { names: ['t1'], write: 'dry_run', underCi: 'refuse', precision: 'float32' });
  t.like(parseUpdateArgs(['--force', '--precision=float64']), { names: [], underCi: 'allow', precision: 'float64' });
  t.regex(parseUpdateArgs(['no-such-case']) as string, /unknown golden case\(s\): no-such-case/);
  t.regex(parseUpdateArgs(['--precision', 'float16']) as string, /--precision: expected float64 or float32/);
  t.regex(parseUpdateArgs(['--bogus']) as string, /unknown option --bogus/);
});

test('CI detection', (t) => {
  t.true(isCi({ CI: 'true' }));
  t.true(isCi({ CI: '1' }));
  t.false(isCi({}));
  t.false(isCi({ CI: '' }));
  t.false(isCi({ CI: 'false' }));
});

test('under CI the update refuses to run (exit 3) and writes nothing', async (t) => {
  const before = statSync(join(GOLDENS_DIR, MANIFEST_FILE)).mtimeMs;
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    t.is(await main(['t1'], { CI: 'true' }), 3);
  } finally {
    console.error = orig;
  }
  t.regex(errors.join('\n'), /refuses to run under CI/);
  t.is(statSync(join(GOLDENS_DIR, MANIFEST_FILE)).mtimeMs, before);
});

test('a subset update in a fresh directory reproduces the stored files, then reports identical and changed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'goldens-update-'));
  try {
    const names = ['t1', 'uniform'];
    const opts = { names, write: 'write' as const, underCi: 'refuse' as const, precision: 'float64' as const, dir };
    const log1: string[] = [];
    const m = await updateGoldens(opts, (l) => log1.push(l));
    const stored = readManifest();
    t.deepEqual(m.cases.map((c) => c.name), names);
    for (const c of m.cases) {
      const s = stored.cases.find((x) => x.name === c.name)!;
      t.deepEqual(c.files, s.files, `${c.name}: regenerated files equal the stored ones`);
    }
    t.true(log1.some((l) => /^t1: new/.test(l)));

    const log2: string[] = [];
    const m2 = await updateGoldens(opts, (l) => log2.push(l));
    t.true(log2.some((l) => /^t1: identical/.test(l)), log2.join('\n'));
    t.is(m2.cases[0]!.producer.date, m.cases[0]!.producer.date, 'an identical case keeps its producer entry');

    // Corrupt one stored output value: the next update rewrites it and says which tensor changed.
    const path = join(dir, m.cases[0]!.files.expected.path);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0x10;
    writeFileSync(path, bytes);
    const log3: string[] = [];
    await updateGoldens({ ...opts, names: ['t1'] }, (l) => log3.push(l));
    t.true(log3.some((l) => /^t1: changed/.test(l)), log3.join('\n'));
    t.true(log3.some((l) => /changed 1\/\d+ elements/.test(l)), log3.join('\n'));

    const dry: string[] = [];
    await updateGoldens({ ...opts, names: ['t1'], write: 'dry_run' as const }, (l) => dry.push(l));
    t.true(dry.includes('dry run: nothing written'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
