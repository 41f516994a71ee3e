/**
 * Whether the shipped Python adapters (adapters/python/) can run here: python3 with numpy
 * (numpy adapter), and torch (PyTorch adapter). Checked once per process by running python3.
 */
import { spawnSync } from 'node:child_process';

export interface PythonAvailability {
  /** python3 and numpy importable. */
  readonly numpy: boolean;
  /** torch importable (the PyTorch adapter also wants a CUDA device; it says so itself). */
  readonly torch: boolean;
  readonly detail: string;
}

let cached: PythonAvailability | null = null;

export function pythonAvailability(python = process.env.MOE_HARNESS_PYTHON ?? 'python3'): PythonAvailability {
  if (cached !== null) return cached;
  const probe = (mod: string): string | null => {
    const r = spawnSync(python, ['-c', `import ${mod}; print(${mod}.__version__)`], { encoding: 'utf8', timeout: 60_000 });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const v = spawnSync(python, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (v.status !== 0) {
    cached = { numpy: false, torch: false, detail: `${python} not runnable (${v.error?.message ?? v.stderr?.trim() ?? 'unknown'})` };
    return cached;
  }
  const np = probe('numpy');
  const torch = np === null ? null : probe('torch');
  cached = {
    numpy: np !== null, torch: torch !== null,
    detail: `${v.stdout.trim() || v.stderr.trim()}, numpy ${np ?? 'missing'}, torch ${torch ?? 'missing'}`,
  };
  return cached;
}
