/**
 * ci/gpu-gate.sh refuses to run without a usable GPU (exit 2, naming why) — at both of its
 * checks: nvidia-smi, and the native addon's device probe. (Its steps on a GPU: docs/ci.md.)
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const tmp = (): string => mkdtempSync(join(tmpdir(), 'moe-harness-gate-'));
const built = existsSync(join(root, 'dist', 'harness', 'gpuAvailability.js'));

function gate(pathDirs: string[], out: string): { status: number | null; stderr: string } {
  // PATH without nvidia-smi: node's folder and the basic tools only, plus pathDirs.
  const path = [...pathDirs, dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter);
  const r = spawnSync('bash', [join(here, 'gpu-gate.sh'), out], { encoding: 'utf8', env: { PATH: path, HOME: process.env.HOME ?? '/tmp' }, timeout: 120_000 });
  return { status: r.status, stderr: r.stderr };
}

const hasSmi = spawnSync('bash', ['-c', 'PATH=/usr/bin:/bin command -v nvidia-smi']).status === 0;
const gpuUsable = built && spawnSync(process.execPath, ['--input-type=module', '-e',
  `const { gpuAvailability } = await import(${JSON.stringify(join(root, 'dist', 'harness', 'gpuAvailability.js'))}); process.exit((await gpuAvailability()).available ? 0 : 1)`]).status === 0;
// On a GPU host these refusals cannot be staged without running the real gate: skipped, loudly, by name.
const onGpuHost = (title: string, why: string): void => {
  console.warn(`!! ${title} — SKIPPED: ${why}`);
  test.skip(`${title} — SKIPPED: ${why}`, () => undefined);
};

if (hasSmi) onGpuHost('gpu-gate: no nvidia-smi → refused', 'nvidia-smi is in /usr/bin here');
else test('no nvidia-smi: refused, exit 2', (t) => {
  const out = tmp();
  const r = gate([], out);
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /gpu-gate: REFUSED: (nvidia-smi not found: this is not a GPU host|dist\/ missing)/);
  t.regex(readFileSync(join(out, 'REFUSED.txt'), 'utf8'), /REFUSED/);
});

if (gpuUsable) onGpuHost('gpu-gate: addon probe fails → refused', 'a usable GPU is present');
else test('nvidia-smi lists a GPU but the addon cannot open one: refused, exit 2, with the probe\'s reason', (t) => {
  if (!built) return t.fail('dist/ is missing: npm test builds it before ava (npm run build:ts)');
  const bin = tmp();
  const smi = join(bin, 'nvidia-smi');
  writeFileSync(smi, '#!/bin/sh\necho "0, NVIDIA H200 (fake), 570.00, 143771 MiB"\n');
  chmodSync(smi, 0o755);
  const r = gate([bin], tmp());
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /gpu-gate: REFUSED: the native addon cannot use the GPU: \{"available":false,"detail":".+"/);
});
