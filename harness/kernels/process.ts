/**
 * ProcessProvider: door 2, a kernel in another process speaking docs/process-protocol.md
 * (adapters/python/ ships the Python side). The adapter is started on first use and
 * restarted after it dies, times out or breaks the protocol; a case prepared before the
 * restart is prepared again from the same files, transparently.
 *
 * Tensors cross as safetensors files in a session folder on shared memory (/dev/shm where
 * present, else the temp folder): a case's inputs are written once (inputs.safetensors,
 * weights included) and read by the adapter at prepare; every run writes its own output
 * file, which the harness reads, checks (names, dtypes, shapes) and deletes. The inputs
 * digest is the file's own bytes, so an adapter that writes its inputs is caught.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sharedMemoryDir } from '../sharedMemoryDir.js';
import { caseTensorParts } from '../../goldens/caseTensors.js';
import { readSafetensors, type Tensor } from '../../goldens/safetensors.js';
import type { Case } from '../../reference/case.js';
import { BadArgumentError, UnsupportedProblemError } from '../../reference/errors.js';
import type { Problem } from '../../reference/problem.js';
import { AdapterError } from './adapterError.js';
import { hashFile, writeSafetensorsFile } from './largeFiles.js';
import { AdapterProcess, type AdapterAnswer } from './adapterProcess.js';
import { OUTPUT_TENSORS, parseDescription, parseTacticList, PROTOCOL_VERSIONS } from './processProtocol.js';
import type { Observed, Provider, ProviderDescription, RunOptions, Tactic, TacticList } from './provider.js';
import type { KernelChoice } from './select.js';

export interface ProcessHandle {
  readonly dir: string;
  readonly inputsPath: string;
  readonly problem: Problem;
  /** The adapter's handle and the adapter generation it belongs to. */
  adapterHandle: string;
  generation: number;
  runs: number;
  /** The inputs file's digest and the file status it was taken at (see inputsDigest). */
  digest: string;
  stamp: string;
}

/**
 * How inputsDigest checks the inputs file: 'stat' (default) re-hashes it only when its size,
 * mtime or ctime changed since the last hash (every write(2) to the file changes them; a write
 * through a shared mapping of a tmpfs file may not), 'full' re-hashes it on every check (about
 * 1 s per GiB, twice per tactic). Env MOE_HARNESS_PROCESS_DIGEST=full selects 'full'.
 */
export type InputsDigestMode = 'stat' | 'full';

function digestMode(): InputsDigestMode {
  return process.env.MOE_HARNESS_PROCESS_DIGEST === 'full' ? 'full' : 'stat';
}

function fileStamp(path: string): string {
  const s = statSync(path, { bigint: true });
  return `${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** Default longest wait for one answer (a run of every tactic on a large case may be slow on CPU). */
const DEFAULT_REQUEST_TIMEOUT_S = 300;
/** Longest wait for the handshake (imports of torch and friends). */
const HANDSHAKE_TIMEOUT_S = 120;

export class ProcessProvider implements Provider<ProcessHandle> {
  readonly name: string;
  private readonly command: string;
  private readonly timeoutMs: number;
  private adapter: AdapterProcess | null = null;
  private generation = 0;
  private description: ProviderDescription | null = null;
  private readonly sessionDir: string;
  private cases = 0;
  /** Adapter processes started (1 + restarts). */
  starts = 0;

  constructor(private readonly choice: KernelChoice) {
    if (typeof choice.command !== 'string' || choice.command.trim() === '') {
      throw new BadArgumentError('--kernel', 'cmd:COMMAND with a non-empty command', JSON.stringify(choice.command));
    }
    this.command = choice.command;
    this.name = choice.name ?? `cmd:${choice.command}`;
    this.timeoutMs = (choice.timeoutS ?? DEFAULT_REQUEST_TIMEOUT_S) * 1000;
    this.sessionDir = join(sharedMemoryDir(), `moe-harness-${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /** A running, handshaken adapter (started or restarted as needed). */
  private async live(): Promise<AdapterProcess> {
    if (this.adapter !== null && this.adapter.dead === null) return this.adapter;
    this.adapter?.kill();
    this.adapter = null;
    this.description = null;
    const a = new AdapterProcess({ name: this.name, command: this.command, ...(this.choice.env ? { env: this.choice.env } : {}) });
    this.generation++;
    this.starts++;
    const hello = await a.request('hello', { protocols: PROTOCOL_VERSIONS }, 'the handshake', Math.max(this.timeoutMs, HANDSHAKE_TIMEOUT_S * 1000));
    if (!hello.ok) {
      a.kill();
      throw new AdapterError(this.name, `refused the handshake: ${errorText(hello)}`);
    }
    if (!(PROTOCOL_VERSIONS as readonly unknown[]).includes(hello.protocol)) {
      a.kill();
      throw new AdapterError(this.name, `chose protocol ${JSON.stringify(hello.protocol)}; this harness speaks ${PROTOCOL_VERSIONS.join(', ')}`);
    }
    let d: ProviderDescription;
    try {
      d = parseDescription(this.name, hello.describe);
    } catch (e) {
      a.kill();
      throw e;
    }
    // Only a handshake that succeeded makes the adapter the live one (a refused one is tried again, and refused again).
    this.adapter = a;
    this.description = {
      ...d, name: this.choice.name ?? d.name,
      // A kernel config's conventions override what the adapter declares (docs/providers.md).
      conventions: this.choice.conventions ?? d.conventions,
    };
    return a;
  }

  /** One request; an `ok: false` answer becomes the matching harness error. */
  private async ask(op: string, fields: Record<string, unknown>, what: string): Promise<AdapterAnswer> {
    const a = await this.live();
    const answer = await a.request(op, fields, what, this.timeoutMs);
    if (answer.ok) return answer;
    const err = (answer.error ?? {}) as Record<string, unknown>;
    const kind = err.kind;
    const message = typeof err.message === 'string' ? err.message : JSON.stringify(answer.error);
    if (kind === 'unsupported') throw new UnsupportedProblemError(`problem for ${this.name}`, 'a problem the adapter supports', message);
    if (kind === 'bad_tactic') throw new BadArgumentError('tactic', `a tactic ${this.name} runs`, message);
    throw new AdapterError(this.name, `reported a failure during ${what}: ${message}`);
  }

  async describe(): Promise<ProviderDescription> {
    await this.live();
    return this.description!;
  }

  async tactics(problem: Problem): Promise<TacticList> {
    const d = await this.describe();
    if (!d.quantModes.includes(problem.quantMode) || !d.routingMethods.includes(problem.routing.method)) {
      return { tactics: [], unavailable: [{ label: '*', reason: `${d.name} supports quant modes ${d.quantModes.join(', ')} and routing ${d.routingMethods.join(', ')}` }] };
    }
    return parseTacticList(this.name, await this.ask('tactics', { problem }, 'tactics'));
  }

  async prepare(c: Case): Promise<ProcessHandle> {
    const dir = join(this.sessionDir, `case-${++this.cases}`);
    mkdirSync(dir, { recursive: true });
    const inputsPath = join(dir, 'inputs.safetensors');
    // Streamed tensor part by tensor part (weights: their per-expert chunks), any size.
    const digest = writeSafetensorsFile(inputsPath, caseTensorParts(c), { problem: JSON.stringify(c.spec.problem), case_spec: JSON.stringify(c.spec), protocol: '1' });
    const h: ProcessHandle = {
      dir, inputsPath, problem: c.spec.problem, adapterHandle: '', generation: -1, runs: 0, digest, stamp: fileStamp(inputsPath),
    };
    try {
      await this.prepared(h);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return h;
  }

  /** Make sure the current adapter generation holds the case (prepare it again after a restart). */
  private async prepared(h: ProcessHandle): Promise<void> {
    await this.live();
    if (h.generation === this.generation) return;
    const answer = await this.ask('prepare', { inputs: h.inputsPath, problem: h.problem }, 'prepare');
    if (typeof answer.handle !== 'string') throw new AdapterError(this.name, `answered prepare without a string "handle" (got ${JSON.stringify(answer.handle)})`);
    h.adapterHandle = answer.handle;
    h.generation = this.generation;
  }

  async run(h: ProcessHandle, tactic: Tactic, opts: RunOptions): Promise<Observed> {
    await this.prepared(h);
    const outputPath = join(h.dir, `output-${++h.runs}.safetensors`);
    const what = `run of tactic ${tactic.label}`;
    const answer = await this.ask('run', { handle: h.adapterHandle, tactic: tactic.label, poison: opts.poison, output: outputPath }, what);
    const violations: string[] = [];
    let executedTactic = '';
    if (typeof answer.executedTactic === 'string') executedTactic = answer.executedTactic;
    else violations.push(`adapter ${this.name} answered the ${what} without a string "executedTactic" (got ${JSON.stringify(answer.executedTactic)})`);
    const ms = typeof answer.ms === 'number' && Number.isFinite(answer.ms) ? answer.ms : undefined;
    const { T, H, topK: k } = h.problem;
    let tensors: ReadonlyMap<string, Tensor>;
    try {
      tensors = readSafetensors(readFileSync(outputPath), outputPath).tensors;
    } catch (e) {
      throw new AdapterError(this.name, `answered the ${what} but its output file is unreadable: ${(e as Error).message}`);
    } finally {
      rmSync(outputPath, { force: true });
    }
    const take = (name: string, dtype: string, shape: number[]): Uint8Array | null => {
      const t = tensors.get(name);
      if (t === undefined) {
        violations.push(`adapter ${this.name} returned no tensor "${name}" (expected ${dtype}[${shape.join(', ')}])`);
        return null;
      }
      if (t.dtype !== dtype || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        violations.push(`adapter ${this.name} returned ${name} as ${t.dtype}[${t.shape.join(', ')}], expected ${dtype}[${shape.join(', ')}]`);
        return null;
      }
      return new Uint8Array(t.data).slice();
    };
    const out = take(OUTPUT_TENSORS.output, 'BF16', [T, H]);
    const ids = take(OUTPUT_TENSORS.ids, 'I32', [T, k]);
    const weights = take(OUTPUT_TENSORS.weights, 'F32', [T, k]);
    return {
      output: out ? new Uint16Array(out.buffer) : new Uint16Array(0),
      ids: ids ? new Int32Array(ids.buffer) : new Int32Array(0),
      weights: weights ? new Float32Array(weights.buffer) : new Float32Array(0),
      executedTactic,
      ...(ms !== undefined ? { ms } : {}),
      ...(violations.length > 0 ? { violations } : {}),
    };
  }

  async inputsDigest(h: ProcessHandle): Promise<string> {
    const stamp = fileStamp(h.inputsPath);
    if (digestMode() === 'full' || stamp !== h.stamp) {
      h.digest = hashFile(h.inputsPath);
      h.stamp = stamp;
    }
    return h.digest;
  }

  async release(h: ProcessHandle): Promise<void> {
    try {
      if (h.generation === this.generation && this.adapter !== null && this.adapter.dead === null) {
        await this.ask('release', { handle: h.adapterHandle }, 'release');
      }
    } finally {
      rmSync(h.dir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    const a = this.adapter;
    this.adapter = null;
    if (a !== null) await a.shutdown();
    rmSync(this.sessionDir, { recursive: true, force: true });
  }
}

function errorText(a: AdapterAnswer): string {
  const e = a.error as Record<string, unknown> | undefined;
  return typeof e?.message === 'string' ? e.message : JSON.stringify(a.error);
}
