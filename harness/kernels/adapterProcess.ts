/**
 * AdapterProcess: one running adapter command (docs/process-protocol.md). The harness writes
 * requests to the adapter's fd 3 and reads answers from its fd 4, one JSON object per line;
 * stdout and stderr are the adapter's own (libraries print there) and only their last lines
 * are kept for error messages. Every failure to follow the protocol rejects the request with
 * an AdapterError and kills the adapter (its whole process group).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { AdapterError } from './adapterError.js';

/** An answer: `ok` plus the op's fields, or `ok: false` with an error object. */
export type AdapterAnswer = Record<string, unknown> & { readonly id: number; readonly ok: boolean };

/** Longest line accepted on fd 4 (a protocol message is small; tensors travel as files). */
const MAX_LINE_BYTES = 1 << 20;

export interface AdapterSpawnOptions {
  readonly name: string;
  readonly command: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** Adapters alive in this process: killed when it exits, so no adapter outlives its harness. */
const LIVE = new Set<AdapterProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => { for (const a of LIVE) a.kill(); });
}

export class AdapterProcess {
  readonly proc: ChildProcess;
  private readonly toAdapter: Writable;
  private readonly fromAdapter: Readable;
  private buffered = '';
  private tail = '';
  private pending: { id: number; resolve: (a: AdapterAnswer) => void; reject: (e: Error) => void; what: string; timer: NodeJS.Timeout } | null = null;
  private nextId = 1;
  /** Set once the adapter is unusable (exited, killed, broke the protocol): why. */
  dead: string | null = null;

  constructor(readonly opts: AdapterSpawnOptions) {
    this.proc = spawn('/bin/sh', ['-c', opts.command], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true,
      env: { ...process.env, ...opts.env, MOE_PROTOCOL_FDS: '3,4' }, ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    });
    this.toAdapter = this.proc.stdio[3] as Writable;
    this.fromAdapter = this.proc.stdio[4] as Readable;
    const keep = (chunk: Buffer): void => { this.tail = (this.tail + chunk.toString()).slice(-4000); };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.toAdapter.on('error', () => undefined); // EPIPE after a death: reported through 'exit'
    this.fromAdapter.on('error', () => undefined);
    this.fromAdapter.on('data', (chunk: Buffer) => this.onData(chunk));
    this.proc.on('error', (e) => this.fail(`could not be started (${e.message})`));
    installExitHook();
    LIVE.add(this);
    let closed = false;
    this.proc.on('close', () => { closed = true; });
    this.proc.on('exit', (code, signal) => {
      LIVE.delete(this);
      // Let stdout/stderr drain ('close') so the message carries the adapter's last words; a
      // grandchild holding the pipes open must not delay the finding by more than 500 ms.
      const report = (): void => this.fail(`died (${signal ? `signal ${signal}` : `exit code ${code}`})`);
      if (closed) report();
      else {
        const timer = setTimeout(report, 500);
        this.proc.once('close', () => { clearTimeout(timer); report(); });
      }
    });
  }

  /** The adapter's last stdout/stderr lines, for messages. */
  lastLines(n = 4): string {
    return this.tail.trim().split('\n').filter((l) => l.trim()).slice(-n).join(' | ');
  }

  private onData(chunk: Buffer): void {
    this.buffered += chunk.toString('utf8');
    for (;;) {
      const nl = this.buffered.indexOf('\n');
      if (nl < 0) break;
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      this.onLine(line);
    }
    if (this.buffered.length > MAX_LINE_BYTES) this.fail(`wrote more than ${MAX_LINE_BYTES} bytes on fd 4 without a newline`);
  }

  private onLine(line: string): void {
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch {
      this.fail(`wrote a line on fd 4 that is not JSON: ${JSON.stringify(line.slice(0, 120))}`);
      return;
    }
    const rec = m as Record<string, unknown>;
    if (typeof m !== 'object' || m === null || Array.isArray(m) || typeof rec.id !== 'number' || typeof rec.ok !== 'boolean') {
      this.fail(`wrote a message without a numeric "id" and a boolean "ok" on fd 4: ${JSON.stringify(line.slice(0, 120))}`);
      return;
    }
    const p = this.pending;
    if (p === null || rec.id !== p.id) {
      this.fail(`answered id ${String(rec.id)} when ${p === null ? 'no request was pending' : `request ${p.id} (${p.what}) was pending`}`);
      return;
    }
    clearTimeout(p.timer);
    this.pending = null;
    p.resolve(rec as AdapterAnswer);
  }

  /** Mark dead, kill the process group, and reject the pending request. */
  private fail(what: string): void {
    if (this.dead === null) this.dead = what;
    this.kill();
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      clearTimeout(p.timer);
      const tail = this.lastLines();
      p.reject(new AdapterError(this.opts.name, `${what} during ${p.what}${tail ? `; its last output: ${tail}` : ''}`));
    }
  }

  /** Send one request and wait for its answer (at most timeoutMs). */
  request(op: string, fields: Record<string, unknown>, what: string, timeoutMs: number): Promise<AdapterAnswer> {
    if (this.dead !== null) return Promise.reject(new AdapterError(this.opts.name, `is not running (${this.dead}); ${what} not sent`));
    if (this.pending !== null) return Promise.reject(new Error(`harness: request ${what} while ${this.pending.what} is pending`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(`did not answer within ${(timeoutMs / 1000).toFixed(1)} s (killed)`), timeoutMs);
      this.pending = { id, resolve, reject, what, timer };
      this.toAdapter.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
  }

  /** SIGKILL the adapter's process group (it was started detached, as its own group). */
  kill(): void {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null || this.proc.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, 'SIGKILL');
    } catch {
      try { this.proc.kill('SIGKILL'); } catch { /* already gone */ }
    }
  }

  /** Ask it to shut down; kill it when it does not exit within graceMs. */
  async shutdown(graceMs = 5000): Promise<void> {
    if (this.dead === null) {
      try {
        await this.request('shutdown', {}, 'shutdown', graceMs);
      } catch { /* killed below */ }
    }
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { this.kill(); resolve(); }, graceMs);
        this.proc.once('exit', () => { clearTimeout(t); resolve(); });
      });
    }
    this.dead ??= 'shut down';
  }
}
