/**
 * Runs tactics in a child process (child.ts) and restarts it after a crash: a CUDA fault
 * (illegal address, launch failure) poisons the process's context, and a process that
 * dies takes only the tactic it was running with it. That tactic is reported crashed
 * (with the child's last stderr lines) and the case goes on with the others in a fresh
 * child. A tactic (or prepare) that runs longer than the timeout is killed and crashed.
 * A death before the tactics (while regenerating the case's data or preparing it) is
 * retried once in a fresh child; a second one is attributed to that phase in a crashed
 * record for each tactic of the case. A campaign's abort signal kills the child and
 * returns what finished, marked interrupted (never a crash). Large outcomes cross by a file
 * on shared memory (outcomeTransfer.ts), read as soon as their message arrives.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { BadArgumentError } from '../reference/errors.js';
import { DEFAULT_REPEATS, checkRepeats, type CaseOutcome, type CaseRunner, type RunCaseOptions, type RunnableCase, type TacticOutcome } from './caseRunner.js';
import { childCommand } from './childEntry.js';
import type { ChildMessage, ParentMessage } from './childProtocol.js';
import type { ProviderDescription, Tactic } from './kernels/provider.js';
import { kernelLabel, type KernelChoice } from './kernels/select.js';
import { createOutcomeDir, DEFAULT_INLINE_BYTES, OutcomeTransferError, receiveOutcome, removeOutcomeDir } from './outcomeTransfer.js';
import { epochMs, observedBytes } from './phaseTimes.js';

/** The longest delay setTimeout honours: 2^31 - 1 ms (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ChildRunnerOptions {
  /** Longest a tactic (all its runs) or a prepare may take before the child is killed (default 300 s). */
  readonly timeoutMs?: number;
  /** Runs of each tactic on identical inputs (>= 2; default 2). */
  readonly repeats?: number;
  /**
   * Outcomes whose arrays total at least this many bytes cross by a file on shared memory
   * (outcomeTransfer.ts; default 1 MiB); smaller ones travel in the IPC message.
   */
  readonly inlineBytes?: number;
}

type DoneMessage = Extract<ChildMessage, { type: 'tactic_done' }>;
/**
 * A child's message as the runner sees it: a tactic's outcome already read, with the time its
 * arrays took to cross (phaseTimes.ts: traffic; undefined when the child did not say when it sent).
 */
type Received = Exclude<ChildMessage, DoneMessage> | (Omit<DoneMessage, 'outcome'> & { readonly outcome: TacticOutcome; readonly traffic: number | undefined });

/** Outcome folders of children not yet reaped: removed when this process exits. */
const liveOutcomeDirs = new Set<string>();
let exitHook = false;

/** The outcome of a `tactic_done`, its file read and unlinked; a file that does not match its message: crashed, saying why. */
function received(m: ChildMessage): Received {
  if (m.type !== 'tactic_done') return m;
  let outcome: TacticOutcome;
  const readFrom = epochMs();
  try {
    outcome = receiveOutcome(m.outcome);
  } catch (e) {
    // Never thrown in this event handler (it would end the campaign): the tactic is crashed, saying why.
    const why = e instanceof OutcomeTransferError ? e.message : `${(e as Error).name}: ${(e as Error).message}`;
    outcome = { kind: 'crashed', tactic: m.outcome.outcome.tactic, message: `the outcome did not arrive whole from the child process: ${why}` };
  }
  const now = epochMs();
  // Inline: from the child's send to the outcome deserialized here (the pipe). By file: the
  // child's write plus this read; the small message's wait for this (busy) event loop is
  // left out, as the child does not wait for it.
  const traffic = m.sentAt === undefined ? undefined
    : m.outcome.mode === 'file' && m.writeMs !== undefined ? m.writeMs + (now - readFrom) : Math.max(0, now - m.sentAt);
  return { ...m, outcome, traffic };
}

type Event = { kind: 'message'; m: Received } | { kind: 'exit'; code: number | null; signal: string | null } | { kind: 'timeout' } | { kind: 'interrupt' };

/** A started child with a queue of events. */
class Child {
  readonly proc: ChildProcess;
  private readonly events: Event[] = [];
  private waiter: ((e: Event) => void) | null = null;
  private stderrTail = '';
  exited = false;
  /** Where this child writes large outcomes (undefined: none could be made; every outcome inline). */
  readonly outcomeDir: string | undefined;

  constructor() {
    const cmd = childCommand();
    this.proc = fork(cmd.script, [], {
      execArgv: [...cmd.execArgv], serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, MOE_HARNESS_IN_CHILD: '1' },
    });
    const tail = (chunk: Buffer): void => { this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000); };
    this.proc.stdout!.on('data', tail);
    this.proc.stderr!.on('data', tail);
    let dir: string | undefined;
    if (this.proc.pid !== undefined) {
      try {
        dir = createOutcomeDir(this.proc.pid);
        liveOutcomeDirs.add(dir);
        if (!exitHook) {
          exitHook = true;
          process.on('exit', () => { for (const d of liveOutcomeDirs) removeOutcomeDir(d); });
        }
      } catch (e) {
        process.stderr.write(`moe-harness: outcomes of the child process travel inline (no outcome folder: ${(e as Error).message})\n`);
      }
    }
    this.outcomeDir = dir;
    // Read an outcome's file at once: its folder goes when the child is gone.
    this.proc.on('message', (m) => this.push({ kind: 'message', m: received(m as ChildMessage) }));
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      // Let the pipes drain so the stderr tail is complete (and the last messages are read).
      setTimeout(() => {
        if (dir !== undefined) {
          removeOutcomeDir(dir);
          liveOutcomeDirs.delete(dir);
        }
        this.push({ kind: 'exit', code, signal });
      }, 50);
    });
    this.proc.on('error', () => undefined);
  }

  private push(e: Event): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(e);
    } else this.events.push(e);
  }

  /** The next event, or a timeout event after `ms`. */
  next(ms: number): Promise<Event> {
    const e = this.events.shift();
    if (e) return Promise.resolve(e);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve({ kind: 'timeout' });
      }, ms);
      this.waiter = (ev) => {
        clearTimeout(timer);
        resolve(ev);
      };
    });
  }

  /** Wake the waiting runner with an interrupt event (the campaign was stopped). */
  interrupt(): void {
    this.push({ kind: 'interrupt' });
  }

  send(m: ParentMessage): void {
    if (!this.exited && this.proc.connected) this.proc.send(m);
  }

  lastLines(): string {
    const lines = this.stderrTail.trim().split('\n').filter((l) => l.trim().length > 0);
    return lines.slice(-3).join(' | ');
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}

function deathMessage(e: Event, child: Child): string {
  const how = e.kind === 'exit' ? (e.signal ? `signal ${e.signal}` : `exit code ${e.code}`) : 'timeout';
  const tail = child.lastLines();
  return `child process died (${how})${tail ? `: ${tail}` : ''}`;
}

export class ChildRunner implements CaseRunner {
  private child: Child | null = null;
  private nextId = 1;
  private readonly timeoutMs: number;
  private readonly repeats: number;
  private readonly inlineBytes: number;
  /** Children started so far (1 + restarts). */
  starts = 0;
  private description: ProviderDescription | null = null;
  /** The child regenerates the case from its spec: the campaign may start a run before its own copy exists. */
  readonly input = 'spec';

  constructor(private readonly kernel: KernelChoice, opts: ChildRunnerOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 300_000;
    // setTimeout holds a signed 32-bit count of ms: a longer delay fires after 1 ms.
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < 1 || this.timeoutMs > MAX_TIMER_MS) {
      throw new BadArgumentError('timeoutMs', `an integer in [1, ${MAX_TIMER_MS}] (setTimeout's largest delay)`, String(this.timeoutMs));
    }
    this.repeats = opts.repeats ?? DEFAULT_REPEATS;
    checkRepeats(this.repeats);
    this.inlineBytes = opts.inlineBytes ?? DEFAULT_INLINE_BYTES;
    if (!Number.isSafeInteger(this.inlineBytes) || this.inlineBytes < 0) {
      throw new BadArgumentError('inlineBytes', 'an integer >= 0 (bytes of arrays below which an outcome stays in the IPC message)', String(opts.inlineBytes));
    }
  }

  /** A ready child (started and initialized), or an error message. */
  private async ready(): Promise<Child | string> {
    if (this.child && !this.child.exited) return this.child;
    const child = new Child();
    this.starts++;
    child.send({ type: 'init', kernel: this.kernel, repeats: this.repeats, inlineBytes: this.inlineBytes, ...(child.outcomeDir !== undefined ? { outcomeDir: child.outcomeDir } : {}) });
    for (;;) {
      const e = await child.next(120_000);
      if (e.kind === 'message' && e.m.type === 'ready') {
        this.child = child;
        this.description = e.m.description;
        return child;
      }
      if (e.kind === 'message' && e.m.type === 'init_failed') {
        child.kill();
        return `kernel ${kernelLabel(this.kernel)} could not start: ${e.m.message}`;
      }
      if (e.kind !== 'message') {
        child.kill();
        return deathMessage(e, child);
      }
    }
  }

  async describe(): Promise<ProviderDescription> {
    if (this.description === null) {
      const child = await this.ready();
      if (typeof child === 'string') throw new Error(child);
    }
    return this.description!;
  }

  async runCase(c: RunnableCase, filter: readonly string[] | undefined, onTactic?: (o: TacticOutcome) => void, opts: RunCaseOptions = {}): Promise<CaseOutcome> {
    const outcomes: TacticOutcome[] = [];
    let tactics: readonly Tactic[] | null = null;
    const done = new Set<string>(opts.skip ?? []);
    const record = (o: TacticOutcome): void => {
      outcomes.push(o);
      onTactic?.(o);
      done.add(o.tactic.label);
    };
    const ran = (interrupted = false): CaseOutcome => ({ kind: 'ran', tactics: tactics ?? [], outcomes, ...(interrupted ? { interrupted } : {}) });
    /** Every tactic not yet done, crashed with `message` (when the case cannot go on). */
    const crashRest = (message: string): CaseOutcome => {
      for (const t of tactics ?? []) if (!done.has(t.label)) record({ kind: 'crashed', tactic: t, message });
      return ran();
    };
    /** Deaths per phase before the tactics (regenerate, prepare, …): each is retried once in a fresh child. */
    const phaseDeaths = new Map<string, string[]>();
    const signal = opts.signal;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) return ran(true);
      const child = await this.ready();
      if (typeof child === 'string') return tactics === null ? { kind: 'prepare_crashed', message: child } : crashRest(child);
      if (tactics !== null && attempt > tactics.length + 2) return crashRest('the child process kept dying between tactics');
      // An abort while the child was starting has already fired: look before listening.
      if (signal?.aborted) return ran(true);
      const onAbort = (): void => child.interrupt();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const id = this.nextId++;
        child.send({ type: 'case', id, spec: c.spec, filter, skip: [...done], attempt });
        /** What the child is doing: enumerating tactics, regenerate, prepare, a tactic label, or between tactics. */
        let phase = 'enumerating tactics';
        /** When the child said it entered `phase` (regenerate and prepare are timed from these messages). */
        let phaseStart = performance.now();
        const phaseEnds = (): void => {
          if (phase === 'regenerate' || phase === 'prepare') opts.onPhase?.(phase, performance.now() - phaseStart);
        };
        for (;;) {
          const e = await child.next(this.timeoutMs);
          if (e.kind === 'interrupt' || (e.kind !== 'message' && signal?.aborted)) {
            // Stopped by the campaign (SIGINT/SIGTERM): the tactic in flight is not a crash.
            child.kill();
            this.child = null;
            return ran(true);
          }
          if (e.kind !== 'message') {
            child.kill();
            this.child = null;
            const msg = deathMessage(e, child);
            const tactic = tactics?.find((t) => t.label === phase);
            if (tactic !== undefined) {
              record({ kind: 'crashed', tactic, message: msg });
              break; // restart for the remaining tactics
            }
            if (phase === 'between tactics') break;
            // A death before the tactics: retry the case once in a fresh child, then attribute it.
            const deaths = phaseDeaths.get(phase) ?? [];
            deaths.push(msg);
            phaseDeaths.set(phase, deaths);
            if (deaths.length < 2) break;
            const why = `child process died while ${phase === 'enumerating tactics' ? phase : `${phase} (the case's ${phase === 'regenerate' ? 'data from its spec' : 'kernel layout'})`}, ` +
              `in ${deaths.length} children: ${deaths.join('; ')}`;
            return tactics === null ? { kind: 'prepare_crashed', message: why } : crashRest(`${phase}: ${why}`);
          }
          const m = e.m;
          if (!('id' in m) || m.id !== id) continue;
          if (m.type === 'tactics') {
            tactics ??= m.tactics;
            if (m.tactics.length === 0) {
              return { kind: 'not_supported', message: `kernel ${kernelLabel(this.kernel)} enumerates no tactic${filter ? ` matching ${filter.join(',')}` : ''} for this problem` };
            }
            if (tactics.every((t) => done.has(t.label))) return ran();
          } else if (m.type === 'phase') {
            phaseEnds();
            phase = m.phase;
            phaseStart = performance.now();
          } else if (m.type === 'not_supported') {
            return { kind: 'not_supported', message: m.message };
          } else if (m.type === 'prepare_crashed') {
            // An error (not a death) before the tactics: deterministic, so not retried.
            child.kill();
            this.child = null;
            return tactics === null ? { kind: 'prepare_crashed', message: m.message } : crashRest(m.message);
          } else if (m.type === 'tactic_start') {
            phaseEnds();
            phase = m.label;
          } else if (m.type === 'tactic_done') {
            const o = m.outcome;
            record(o.kind === 'ran' && o.times !== undefined ? {
              ...o, times: {
                ...o.times, trafficBytes: observedBytes(o.runs),
                ...(m.traffic !== undefined ? { traffic: m.traffic } : {}),
                ...(m.maxRss !== undefined ? { childMaxRss: m.maxRss } : {}),
              },
            } : o);
            phase = 'between tactics';
            if (m.fatal) {
              await child.next(5_000); // its exit
              child.kill();
              this.child = null;
              break;
            }
          } else if (m.type === 'case_done') {
            return ran();
          }
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      if (tactics !== null && tactics.every((t) => done.has(t.label))) return ran();
    }
  }

  async close(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (c && !c.exited) {
      c.send({ type: 'exit' });
      const e = await c.next(5_000);
      if (e.kind !== 'exit') c.kill();
    }
  }
}
