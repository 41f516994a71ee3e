/**
 * Our CUDA kernel through its two doors: the direct addon (kernels/native.ts) and the C ABI
 * (libmoe_abi_native.so through kernels/lib.ts). `runDoor` runs a list of cases through one
 * door in a child process of its own (a library is never loaded in the calling process)
 * and returns, per (case, tactic), SHA-256 digests of the output, ids and weights, the
 * tactic the run echoed, and times: the GPU suite (libDoors.test.ts) compares the digests
 * of the two doors bit for bit, the benchmark (libDoorsBench.ts) compares the times.
 *
 * Per case: generate, prepare once (timed), then every tactic `repeats` times with
 * alternating poison patterns (wall time per run, and the kernel's own time).
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CaseSpec } from '../../reference/case.js';
import { generateCase } from '../../reference/generate.js';
import { describeProblem } from '../../reference/problem.js';
import type { KernelUnderTest, Observed } from './kernel.js';
import { abiLibraryPath } from './libHost.js';

/** The two doors to our kernel. */
export type Door = 'native' | 'abi';

export interface DoorTacticRecord {
  readonly caseIndex: number;
  readonly tactic: string;
  /** The tactic the run echoed (abi door), or undefined (the direct addon does not echo). */
  readonly executed?: string;
  /** SHA-256 (hex) of output, ids and weights bytes of the first run. */
  readonly digest: string;
  /** Every repeat gave the same bytes. */
  readonly deterministic: boolean;
  /** Wall time of each run (ms), host side, as the campaign's child sees it. */
  readonly wallMs: readonly number[];
  /** Kernel time of each run (ms) when the door reports it. */
  readonly kernelMs: readonly number[];
  readonly error?: string;
}

export interface DoorCaseRecord {
  readonly caseIndex: number;
  readonly problem: string;
  readonly tactics: readonly string[];
  readonly prepareMs: number;
  /** Time to generate the case (ms; the same work for both doors). */
  readonly generateMs: number;
  readonly error?: string;
}

export interface DoorRun {
  readonly door: Door;
  readonly kernel: string;
  readonly cases: readonly DoorCaseRecord[];
  readonly records: readonly DoorTacticRecord[];
  /** Set when the child could not start the kernel or died. */
  readonly error?: string;
}

export interface DoorOptions {
  /** Runs per (case, tactic) (default 2). */
  readonly repeats?: number;
  /** The ABI library (default our libmoe_abi_native.so). */
  readonly library?: string;
  /** Longest the whole child may run (ms, default 3 600 000). */
  readonly timeoutMs?: number;
}

interface Request { readonly door: Door; readonly specs: readonly CaseSpec[]; readonly repeats: number; readonly library: string }

const POISONS = [0x7fa5, 0xffc3] as const;

function digestOf(o: Observed): string {
  const h = createHash('sha256');
  for (const a of [o.output, o.ids, o.weights]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

const message = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** The child's side: run every case through one door. */
async function serve(req: Request): Promise<DoorRun> {
  let kernel: KernelUnderTest;
  try {
    if (req.door === 'native') {
      const { NativeKernel } = await import('./native.js');
      kernel = new NativeKernel() as KernelUnderTest;
    } else {
      const { LibKernel } = await import('./lib.js');
      kernel = new LibKernel({ library: req.library }) as KernelUnderTest;
    }
  } catch (e) {
    return { door: req.door, kernel: req.door, cases: [], records: [], error: message(e) };
  }
  const cases: DoorCaseRecord[] = [];
  const records: DoorTacticRecord[] = [];
  for (const [caseIndex, spec] of req.specs.entries()) {
    const problem = describeProblem(spec.problem);
    const g0 = performance.now();
    const c = generateCase(spec);
    const generateMs = performance.now() - g0;
    let tactics: string[] = [];
    let handle: unknown;
    const p0 = performance.now();
    try {
      const list = (await kernel.tactics(spec.problem)).tactics;
      tactics = list.map((t) => t.label);
      handle = await kernel.prepare(c);
    } catch (e) {
      cases.push({ caseIndex, problem, tactics, prepareMs: performance.now() - p0, generateMs, error: message(e) });
      continue;
    }
    cases.push({ caseIndex, problem, tactics, prepareMs: performance.now() - p0, generateMs });
    for (const t of (await kernel.tactics(spec.problem)).tactics) {
      const wallMs: number[] = [];
      const kernelMs: number[] = [];
      let first: Observed | null = null;
      let digest = '';
      let deterministic = true;
      try {
        for (let r = 0; r < req.repeats; r++) {
          const w0 = performance.now();
          const o = await kernel.run(handle, t, { poison: POISONS[r % 2]! });
          wallMs.push(performance.now() - w0);
          if (o.ms !== undefined) kernelMs.push(o.ms);
          const d = digestOf(o);
          if (first === null) {
            first = o;
            digest = d;
          } else if (d !== digest) deterministic = false;
        }
        records.push({ caseIndex, tactic: t.label, ...(first?.executedTactic !== undefined ? { executed: first.executedTactic } : {}), digest, deterministic, wallMs, kernelMs });
      } catch (e) {
        records.push({ caseIndex, tactic: t.label, digest, deterministic, wallMs, kernelMs, error: message(e) });
        if (e instanceof Error && e.name === 'CudaError') {
          return { door: req.door, kernel: kernel.name, cases, records, error: `device fault, the child stopped: ${message(e)}` };
        }
      }
    }
    await kernel.release(handle);
  }
  return { door: req.door, kernel: kernel.name, cases, records };
}

const here = fileURLToPath(import.meta.url);

/** Run `specs` through one door in a fresh child process. */
export function runDoor(door: Door, specs: readonly CaseSpec[], opts: DoorOptions = {}): Promise<DoorRun> {
  const req: Request = { door, specs, repeats: opts.repeats ?? 2, library: opts.library ?? abiLibraryPath('native') };
  const execArgv = here.endsWith('.ts') ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
  const child = fork(here, [], {
    execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, MOE_HARNESS_IN_CHILD: '1', MOE_HARNESS_LIB_DOOR_CHILD: '1' },
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-2000); });
  return new Promise((resolve) => {
    let result: DoorRun | null = null;
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 3_600_000);
    child.on('message', (m) => {
      result = m as DoorRun;
      clearTimeout(timer);
      resolve(result);
    });
    // The answer may arrive after 'exit' (IPC is drained asynchronously): wait a little.
    child.on('exit', (code, signal) => setTimeout(() => {
      clearTimeout(timer);
      if (result === null) resolve({ door, kernel: door, cases: [], records: [], error: `door child died (${signal ?? `exit code ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
    }, 500));
    child.send(req);
  });
}

if (process.env.MOE_HARNESS_LIB_DOOR_CHILD === '1' && process.send !== undefined && process.argv[1] === here) {
  process.once('message', (req: Request) => {
    serve(req).then(
      (r) => process.send!(r, undefined, {}, () => process.exit(0)),
      (e: unknown) => { console.error(`libDoors child: ${message(e)}`); process.exit(70); },
    );
  });
}
