/**
 * Where large files that cross between processes go (the process door's inputs and outputs,
 * the child's tactic outcomes): /dev/shm when it is a writable folder with at least
 * MIN_SHARED_MEMORY_BYTES free, else the temp folder. Containers often mount a 64 MiB
 * /dev/shm, less than one full-size outcome (DeepSeek-V3 at T = 4096: 117 MiB for two runs).
 */
import { existsSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Free bytes /dev/shm must have to be used. */
export const MIN_SHARED_MEMORY_BYTES = 2 ** 30;

export function sharedMemoryDir(): string {
  try {
    if (existsSync('/dev/shm')) {
      const fs = statfsSync('/dev/shm');
      if (fs.bavail * fs.bsize < MIN_SHARED_MEMORY_BYTES) return tmpdir();
      const probe = join('/dev/shm', `.moe-harness-probe-${process.pid}`);
      writeFileSync(probe, '');
      rmSync(probe);
      return '/dev/shm';
    }
  } catch { /* not writable */ }
  return tmpdir();
}
