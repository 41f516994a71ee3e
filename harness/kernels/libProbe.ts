/**
 * What a C ABI library is and which tactics it can run for a problem, asked from a child
 * process (a library is never loaded in the calling process): describe() and
 * tacticReport() of kernels/lib.ts, or why the library could not be loaded. Used by
 * `moe-harness tactics --kernel lib:PATH`.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Problem } from '../../reference/problem.js';
import type { Tactic } from './provider.js';
import type { LibDescription, RefusedTactic } from './lib.js';
import type { KernelChoice } from './select.js';

export type LibProbe =
  | { readonly ok: true; readonly description: LibDescription; readonly runnable?: readonly Tactic[]; readonly refused?: readonly RefusedTactic[]; readonly unsupported?: string }
  | { readonly ok: false; readonly error: string };

interface Request { readonly choice: KernelChoice; readonly problem?: Problem }

const message = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

async function serve(req: Request): Promise<LibProbe> {
  const { LibKernel } = await import('./lib.js');
  let k;
  try {
    k = new LibKernel({ library: req.choice.library!, ...(req.choice.env ? { environment: req.choice.env } : {}) });
  } catch (e) {
    return { ok: false, error: message(e) };
  }
  const description = k.libDescription();
  if (req.problem === undefined) return { ok: true, description };
  try {
    const r = k.tacticReport(req.problem);
    return { ok: true, description, runnable: r.runnable, refused: r.refused };
  } catch (e) {
    return { ok: true, description, unsupported: message(e) };
  }
}

const here = fileURLToPath(import.meta.url);

/** Describe the library of a `lib` choice (and its tactics for `problem`) from a child process. */
export function probeLibrary(choice: KernelChoice, problem?: Problem, timeoutMs = 60_000): Promise<LibProbe> {
  const execArgv = here.endsWith('.ts') ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
  const child = fork(here, [], {
    execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, MOE_HARNESS_IN_CHILD: '1', MOE_HARNESS_LIB_PROBE_CHILD: '1' },
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-2000); });
  return new Promise((resolve) => {
    let result: LibProbe | null = null;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('message', (m) => {
      result = m as LibProbe;
      clearTimeout(timer);
      resolve(result);
    });
    // The answer may arrive after 'exit' (IPC is drained asynchronously): wait a little.
    child.on('exit', (code, signal) => setTimeout(() => {
      clearTimeout(timer);
      if (result === null) resolve({ ok: false, error: `the probe process died (${signal ?? `exit code ${code}`}) loading ${choice.library}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
    }, 500));
    child.send({ choice, ...(problem !== undefined ? { problem } : {}) } satisfies Request);
  });
}

if (process.env.MOE_HARNESS_LIB_PROBE_CHILD === '1' && process.send !== undefined && process.argv[1] === here) {
  process.once('message', (req: Request) => {
    serve(req).then(
      (r) => process.send!(r, undefined, {}, () => process.exit(0)),
      (e: unknown) => { console.error(`libProbe child: ${message(e)}`); process.exit(70); },
    );
  });
}
