import test from 'ava';
import { accessSync, constants } from 'node:fs';
import { CudaError, NativeUnavailableError, deviceInfo, nativeStatus, tacticConfigs } from './index.js';

function nvccPresent(): boolean {
  for (const p of [process.env.CUDACXX, process.env.CUDA_HOME && `${process.env.CUDA_HOME}/bin/nvcc`, '/usr/local/cuda/bin/nvcc']) {
    if (!p) continue;
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      // not there
    }
  }
  return false;
}

test('the release addon loads and says how it was built', (t) => {
  const s = nativeStatus();
  t.true(s.loaded, `addon not loaded: ${s.reason ?? ''}`);
  t.is(s.variant, 'release');
  t.false(s.faultsBuild);
  t.is(typeof s.builtWithCuda, 'boolean');
  t.truthy(s.reason);
  if (s.builtWithCuda) t.regex(s.reason ?? '', /sm_90a/);
  else t.regex(s.reason ?? '', /without CUDA/);
});

test('where nvcc exists the addon was built with CUDA (a CPU-only fallback would hide a broken CUDA build)', (t) => {
  const s = nativeStatus();
  if (!nvccPresent()) {
    t.log('nvcc not found here: a CPU-only build is expected');
    t.pass();
    return;
  }
  t.true(s.builtWithCuda || /--cpu/.test(s.reason ?? ''), `nvcc exists but the addon reports: ${s.reason ?? ''}`);
});

test('the tactic table has at least three distinct GEMM code paths', (t) => {
  const { tileTokens, configs } = tacticConfigs();
  t.deepEqual([...tileTokens], [8, 16, 32, 64, 128]);
  t.true(configs.length >= 3);
  t.is(new Set(configs.map((c) => c.name)).size, configs.length);
  t.deepEqual(configs.map((c) => c.config), configs.map((_, i) => i));
  for (const c of configs) t.true(c.description.length > 20 && c.weightRows > 0 && c.warps > 0 && c.stages > 0);
  t.true(configs.some((c) => c.splitKFc2));
});

test('deviceInfo resolves with a GPU or rejects with a typed error', async (t) => {
  try {
    const d = await deviceInfo();
    t.regex(d.sm, /^sm_\d+$/);
    t.true(d.memoryBytes > 0 && d.multiProcessors > 0 && d.name.length > 0);
  } catch (e) {
    if (nativeStatus().builtWithCuda) {
      t.true(e instanceof CudaError, String(e));
      t.regex((e as CudaError).cudaName, /^cudaError/);
    } else {
      t.true(e instanceof NativeUnavailableError, String(e));
    }
  }
});
