#!/usr/bin/env node
// Builds the native addon (npm ci runs this as the root package's install script).
//
//   node native/build.mjs            moe_native.node (CUDA when nvcc is found, else CPU-only)
//   node native/build.mjs --faults   moe_native_faults.node (test-only MOE_FAULTS build)
//   node native/build.mjs --force    clean build directory first
//   node native/build.mjs --cpu      CPU-only variant even when nvcc exists
//
// A build directory whose CMakeCache.txt names another source or build directory (a copied
// or moved checkout) is removed first and rebuilt from scratch (buildCache.mjs).
//
// nvcc is looked up in $CUDACXX, $CUDA_HOME/bin, $CUDA_PATH/bin, /usr/local/cuda/bin and
// PATH. Where nvcc exists, any configure or compile failure exits non-zero (CI turns red).
// Where it does not, a CPU-only addon is built that loads and reports builtWithCuda=false.
// Environment: MOE_CUDA_ARCHS (default "90a;100a"), MOE_CUDA_PTX (default "90", "" = none).
import { existsSync, rmSync, accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { staleCacheReason } from './buildCache.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const buildDir = path.join(here, 'build');
const args = new Set(process.argv.slice(2));
const started = Date.now();
const log = (msg) => console.log(`[moe-harness] native: ${msg}`);

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

function findNvcc() {
  const candidates = [];
  if (process.env.CUDACXX) candidates.push(process.env.CUDACXX);
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) {
    if (process.env[v]) candidates.push(path.join(process.env[v], 'bin', 'nvcc'));
  }
  candidates.push('/usr/local/cuda/bin/nvcc');
  for (const c of candidates) if (executable(c)) return c;
  return onPath('nvcc');
}

async function main() {
  const nvcc = args.has('--cpu') ? null : findNvcc();
  const cmake = onPath('cmake');
  if (!cmake) {
    const msg = 'cmake not found on PATH: the native addon is not built (nativeStatus() will say so)';
    if (nvcc) {
      log(`ERROR: ${msg}, but nvcc exists at ${nvcc}`);
      process.exit(1);
    }
    log(`WARNING: ${msg}`);
    return;
  }
  if (args.has('--force') && existsSync(buildDir)) rmSync(buildDir, { recursive: true, force: true });
  const foreign = staleCacheReason(buildDir, here);
  if (foreign !== null) {
    log(`${foreign}: removing ${buildDir} and building from scratch`);
    rmSync(buildDir, { recursive: true, force: true });
  }

  const cMakeOptions = {
    MOE_CUDA: nvcc ? 'ON' : 'OFF',
    MOE_FAULTS: args.has('--faults') ? 'ON' : 'OFF',
    MOE_CUDA_ARCHS: process.env.MOE_CUDA_ARCHS ?? '90a;100a',
    MOE_CUDA_PTX: process.env.MOE_CUDA_PTX ?? '90',
    MOE_NO_CUDA_REASON: args.has('--cpu') ? 'built without CUDA (--cpu)' : 'built without CUDA (no nvcc found at build time)',
  };
  if (nvcc) {
    cMakeOptions.CMAKE_CUDA_COMPILER = nvcc;
    let version = '';
    try {
      version = execFileSync(nvcc, ['--version'], { encoding: 'utf8' }).trim().split('\n').pop() ?? '';
    } catch {
      version = '(nvcc --version failed)';
    }
    log(`CUDA build with ${nvcc} ${version}; targets ${cMakeOptions.MOE_CUDA_ARCHS}` +
      (cMakeOptions.MOE_CUDA_PTX ? ` + PTX ${cMakeOptions.MOE_CUDA_PTX}` : ''));
  } else {
    log(args.has('--cpu') ? '--cpu: building the CPU-only addon (builtWithCuda = false)' : 'nvcc not found: building the CPU-only addon (builtWithCuda = false)');
  }

  const require = createRequire(import.meta.url);
  const { BuildSystem } = require('cmake-js');
  const target = args.has('--faults') ? 'moe_native_faults' : 'moe_native';
  const options = {
    directory: here,
    out: buildDir,
    cMakeOptions,
    target,
    parallel: Math.max(1, cpus().length),
    log: true,
  };
  try {
    const bs = new BuildSystem(options);
    await bs.configure();
    await bs.build();
  } catch (e) {
    log(`ERROR: building ${target} failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
  const file = path.join(buildDir, 'Release', `${target}.node`);
  if (!existsSync(file)) {
    log(`ERROR: the build finished but ${file} is missing`);
    process.exit(1);
  }
  log(`built ${path.relative(process.cwd(), file)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((e) => {
  log(`ERROR: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});
