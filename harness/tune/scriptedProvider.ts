/**
 * ScriptedProvider: a deterministic provider for the tuner's CPU tests and the CPU part of
 * the benchmark. Outputs come from the emulated kernel (right, or wrong where its fault
 * catalog says so); kernel times are scripted per tactic label; some tactics can be made
 * "fastest but wrong" (one output element replaced) or crashing (a thrown error).
 */
import type { Case } from '../../reference/case.js';
import type { FaultName } from '../faults.js';
import { EmulatedKernel, type EmulatedHandle } from '../kernels/emulated.js';
import type { Observed, Provider, ProviderDescription, RunOptions, Tactic, TacticList, TimingCapabilities } from '../kernels/provider.js';
import type { Problem } from '../../reference/problem.js';

export interface Script {
  /** Kernel ms per tactic label: one number, or a sequence cycled run by run. Unlisted: 10 ms. */
  readonly ms?: Readonly<Record<string, number | readonly number[]>>;
  /** Labels whose output is wrong: element 0 replaced by bf16 1024 (0x4480). */
  readonly wrong?: readonly string[];
  /** Labels whose run throws. */
  readonly crash?: readonly string[];
  /** Labels whose run throws a CudaError (a fatal error: the context is poisoned). */
  readonly fatal?: readonly string[];
  /** Labels that report executing another tactic while timed (after the two verification runs). */
  readonly lieWhenTimed?: readonly string[];
  readonly fault?: FaultName;
  readonly device?: string;
  readonly version?: string;
  /** Timing options the provider claims to honour (default: none). */
  readonly timing?: TimingCapabilities;
  /** Host milliseconds each inputsDigest takes (a wall-clock delay, for the phase timing tests). */
  readonly digestDelayMs?: number;
}

/** One run as the provider saw it: the bucket (T), the tactic, and the options it was given. */
export interface ScriptedRun {
  readonly T: number;
  readonly tactic: string;
  readonly options: RunOptions;
}

export class ScriptedProvider implements Provider<EmulatedHandle> {
  readonly name: string;
  private readonly inner: EmulatedKernel;
  private readonly runsOf = new Map<string, number>();
  /** Runs per label, for tests. */
  readonly calls = new Map<string, number>();
  /** Every run in order, for tests. */
  readonly runs: ScriptedRun[] = [];
  constructor(private readonly script: Script = {}) {
    this.inner = new EmulatedKernel(script.fault ? { fault: script.fault } : {});
    this.name = `scripted(${this.inner.name})`;
  }
  async describe(): Promise<ProviderDescription> {
    const d = await this.inner.describe();
    return { ...d, name: this.name, device: this.script.device ?? d.device, version: this.script.version ?? d.version, ...(this.script.timing ? { timing: this.script.timing } : {}) };
  }
  tactics(p: Problem): Promise<TacticList> { return this.inner.tactics(p); }
  prepare(c: Case): Promise<EmulatedHandle> { return this.inner.prepare(c); }
  async run(h: EmulatedHandle, t: Tactic, o: RunOptions): Promise<Observed> {
    const n = this.runsOf.get(t.label) ?? 0;
    this.runsOf.set(t.label, n + 1);
    this.calls.set(t.label, n + 1);
    this.runs.push({ T: h.c.spec.problem.T, tactic: t.label, options: o });
    if (this.script.crash?.includes(t.label)) throw new Error(`scripted crash of tactic ${t.label}`);
    if (this.script.fatal?.includes(t.label)) {
      const e = new Error(`scripted illegal address in tactic ${t.label}`);
      e.name = 'CudaError';
      throw e;
    }
    const r = await this.inner.run(h, t, o);
    const output = Uint16Array.from(r.output);
    if (this.script.wrong?.includes(t.label)) output[0] = 0x4480;
    const s = this.script.ms?.[t.label] ?? 10;
    const ms = typeof s === 'number' ? s : s[n % s.length]!;
    const executedTactic = n >= 2 && this.script.lieWhenTimed?.includes(t.label) ? 'other' : r.executedTactic;
    return { ...r, output, executedTactic, ms };
  }
  async inputsDigest(h: EmulatedHandle): Promise<string> {
    if (this.script.digestDelayMs) await new Promise((r) => setTimeout(r, this.script.digestDelayMs));
    return this.inner.inputsDigest(h);
  }
  release(h: EmulatedHandle): Promise<void> { return this.inner.release(h); }
  close(): Promise<void> { return this.inner.close(); }
}
