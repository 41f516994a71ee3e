/**
 * The tuning environment: everything outside the problem that changes which tactic is
 * fastest or correct, and so keys the cache (cache.ts): the device's name and SM count, the
 * driver, the kernel (name and build id or adapter version) and the harness version.
 *
 * Where the values come from: device, kernel name and build from the provider's describe();
 * SM count from the native addon's deviceInfo() (multiProcessors) when the device is a CUDA
 * device; the driver from `nvidia-smi --query-gpu=driver_version` (local, no network). A CPU
 * provider has smCount 0 and driver 'none'. A value that cannot be read is recorded as
 * 'unknown: <why>' — it still keys the cache (a later read that succeeds mismatches loudly).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProviderDescription } from '../kernels/provider.js';

/** Bumped when the tuner's rules change what a cached choice means (noise policy, buckets). */
export const TUNER_VERSION = 1;

export interface TuneEnvironment {
  readonly device: string;
  readonly smCount: number | string;
  readonly driver: string;
  readonly kernel: string;
  readonly kernelBuild: string;
  readonly harnessVersion: string;
}

export const ENVIRONMENT_FIELDS = ['device', 'smCount', 'driver', 'kernel', 'kernelBuild', 'harnessVersion'] as const;

/** The nearest package.json above this file (from the source tree or from dist/). */
function packageJson(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'moe-harness') return p;
    const up = dirname(dir);
    if (up === dir) throw new Error(`moe-harness: its package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export function harnessVersion(): string {
  const pkg = JSON.parse(readFileSync(packageJson(), 'utf8')) as { version: string };
  return `moe-harness@${pkg.version}/tuner@${TUNER_VERSION}`;
}

const isCpu = (d: ProviderDescription): boolean => d.device === 'cpu';

async function smCountOf(d: ProviderDescription): Promise<number | string> {
  if (isCpu(d)) return 0;
  try {
    const { deviceInfo } = await import('../../native/index.js');
    return (await deviceInfo()).multiProcessors;
  } catch (e) {
    return `unknown: ${(e as Error).message.split('\n')[0]}`;
  }
}

function driverOf(d: ProviderDescription): string {
  if (isCpu(d)) return 'none';
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000 }).split('\n')[0]!.trim();
  } catch (e) {
    return `unknown: ${(e as Error).message.split('\n')[0]}`;
  }
}

/** The environment of a provider, as it describes itself here and now. */
export async function detectEnvironment(d: ProviderDescription): Promise<TuneEnvironment> {
  return { device: d.device, smCount: await smCountOf(d), driver: driverOf(d), kernel: d.name, kernelBuild: d.version, harnessVersion: harnessVersion() };
}
