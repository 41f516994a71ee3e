/**
 * The `lib` kernel provider: any shared library that implements the C ABI
 * (native/include/moe_kernel_abi.h, docs/c-abi.md), driven through the host addon
 * (libHost.ts). It exists only inside the campaign's child process (harness/child.ts):
 * constructing it anywhere else throws, so `--isolation inline` refuses `lib:` kernels.
 *
 * Every failing ABI call becomes an error that names the library, the call, the status and
 * the library's last error:
 *   UNSUPPORTED in prepare        -> UnsupportedProblemError (the case is not supported)
 *   UNSUPPORTED in run            -> UnsupportedProblemError (an enumerated tactic refused: incorrect)
 *   DEVICE_ERROR                  -> CudaError (fatal: the child reports and restarts)
 *   anything else                 -> LibraryCallError (crashed)
 * A library that kills its process (SIGSEGV, abort) kills only the child: the tactic is
 * crashed and the campaign goes on in a fresh child. Each run returns the tactic the
 * library says it executed (`executedTactic`, "none" when it names none); the judge
 * (harness/judge.ts, kernels/observedViolations.ts) makes a mismatch an incorrect verdict.
 * It implements the Provider interface (provider.ts); describe() gives the library's own
 * description translated (its declared conventions parsed), libDescription() the raw one.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Case } from '../../reference/case.js';
import { BadArgumentError, UnsupportedProblemError } from '../../reference/errors.js';
import { parseConventions } from '../../reference/conventions.js';
import type { Problem, QuantMode, RoutingMethodName } from '../../reference/problem.js';
import { CudaError } from '../../native/errors.js';
import { makeTactic, tacticLabel, type Observed, type Provider, type ProviderDescription, type RunOptions, type Tactic, type TacticList } from './provider.js';
import { abiCase, abiProblem } from './libCase.js';
import { loadAbiHost, type AbiHost, type AbiLibrary } from './libHost.js';

/** A call of the ABI that failed in a way that is neither "unsupported" nor a device fault. */
export class LibraryCallError extends Error {
  override readonly name = 'LibraryCallError';
  constructor(readonly library: string, readonly call: string, readonly status: string, readonly detail: string) {
    super(`${library}: ${call} returned ${status}: ${detail}`);
  }
}

/** The library could not be loaded, has another ABI major, or broke the ABI's shape. */
class LibraryLoadError extends Error {
  override readonly name = 'LibraryLoadError';
  constructor(readonly library: string, message: string) {
    super(message);
  }
}

/** What a library says it is (MoeKernelDescription). */
export interface LibDescription {
  readonly name: string;
  readonly version: string;
  readonly device: string;
  readonly quantModes: readonly string[];
  readonly routingMethods: readonly string[];
  readonly conventions: Readonly<Record<string, string>>;
  readonly abi: string;
  readonly library: string;
}

/** A tactic of the library's table that cannot run the problem, and why (can_implement). */
export interface RefusedTactic {
  readonly tactic: Tactic;
  readonly reason: string;
}

export interface LibOptions {
  /** Path of the shared library. */
  readonly library: string;
  /** Variables set in this (child) process before the library is loaded. */
  readonly environment?: Readonly<Record<string, string>>;
}

export interface LibHandle {
  readonly raw: object;
  readonly problem: Problem;
}

interface RawError { code?: unknown; library?: unknown; call?: unknown; status?: unknown; detail?: unknown; message?: unknown }

/** The process-isolation rule: true only inside harness/child.ts. */
function inCampaignChild(): boolean {
  return process.env.MOE_HARNESS_IN_CHILD === '1';
}

/** "fc1_activation" (the C ABI's spelling) → "fc1Activation" (conventions.ts); camelCase passes unchanged. */
function conventionPoint(point: string): string {
  return point.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export class LibKernel implements Provider<LibHandle> {
  readonly name: string;
  readonly library: string;
  private readonly host: AbiHost;
  private readonly lib: AbiLibrary;
  private readonly description: LibDescription;

  constructor(opts: LibOptions) {
    this.library = path.resolve(opts.library);
    this.name = `lib:${opts.library}`;
    if (!inCampaignChild()) {
      throw new BadArgumentError('isolation', "'child' for a lib: kernel (a library is loaded only in the campaign's child process)",
        `this process (${this.name} constructed outside harness/child.ts, e.g. --isolation inline)`);
    }
    if (!existsSync(this.library)) throw new BadArgumentError('--kernel', 'lib:PATH naming an existing shared library', `${this.name} (no such file)`);
    for (const [k, v] of Object.entries(opts.environment ?? {})) process.env[k] = v;
    const h = loadAbiHost();
    if (!h.ok) throw new LibraryLoadError(this.library, `C ABI host unavailable: ${h.reason}`);
    this.host = h.host;
    this.lib = this.call('open', () => this.host.open(this.library));
    const d = this.call('describe', () => this.host.describe(this.lib));
    const conventions: Record<string, string> = {};
    for (const c of d.conventions) conventions[c.point] = c.value;
    this.description = {
      name: d.name, version: d.buildId, device: d.device, quantModes: d.quantModes, routingMethods: d.routingMethods,
      conventions, abi: `${this.lib.abiMajor}.${this.lib.abiMinor}`, library: this.library,
    };
  }

  /** Name, build id, device, supported quant modes and routing methods, declared conventions, as the library gave them. */
  libDescription(): LibDescription {
    return this.description;
  }

  /** The Provider's description; a convention the harness does not know is the library's error (describe call). */
  async describe(): Promise<ProviderDescription> {
    const d = this.description;
    const declared: Record<string, string> = {};
    for (const [point, value] of Object.entries(d.conventions)) declared[conventionPoint(point)] = value;
    let conventions;
    try {
      conventions = parseConventions(declared, `${this.name}: describe: conventions`);
    } catch (e) {
      throw new LibraryCallError(this.library, 'describe', 'an unknown convention', e instanceof Error ? e.message : String(e));
    }
    return {
      name: d.name, version: `${d.version} (C ABI ${d.abi}, ${d.library})`, device: d.device,
      quantModes: d.quantModes as QuantMode[], routingMethods: d.routingMethods as RoutingMethodName[], conventions,
    };
  }

  /** Translate the host's errors (see the file comment); `call` names the ABI call. */
  private call<T>(call: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw this.translate(call, e);
    }
  }

  private translate(call: string, e: unknown): unknown {
    if (!(e instanceof Error)) return e;
    const r = e as RawError;
    const s = (v: unknown): string => (typeof v === 'string' ? v : String(v));
    if (r.code === 'MOE_ABI_LOAD') return new LibraryLoadError(this.library, e.message);
    if (r.code === 'MOE_BAD_ARGUMENT') return new LibraryCallError(this.library, call, 'host refused the arguments', e.message);
    if (r.code !== 'MOE_ABI_CALL') return new LibraryCallError(this.library, call, 'host error', e.message);
    const where = `${this.library}: ${s(r.call)}`;
    if (r.status === 'MOE_STATUS_UNSUPPORTED') return new UnsupportedProblemError(where, 'a problem the library supports', s(r.detail));
    if (r.status === 'MOE_STATUS_DEVICE_ERROR') return new CudaError('MOE_STATUS_DEVICE_ERROR', where, '', e.message);
    return new LibraryCallError(this.library, s(r.call), s(r.status), s(r.detail));
  }

  /** Every tactic of the library's table, split into runnable ones and refused ones with reasons. */
  tacticReport(problem: Problem): { readonly runnable: Tactic[]; readonly refused: RefusedTactic[] } {
    const d = this.description;
    if (!d.quantModes.includes(problem.quantMode)) {
      throw new UnsupportedProblemError(`quant mode of ${this.name}`, `one of ${d.quantModes.join(', ')}`, problem.quantMode);
    }
    if (!d.routingMethods.includes(problem.routing.method)) {
      throw new UnsupportedProblemError(`routing method of ${this.name}`, `one of ${d.routingMethods.join(', ')}`, problem.routing.method);
    }
    const entries = this.call('list_tactics', () => this.host.tactics(this.lib, abiProblem(problem)));
    const runnable: Tactic[] = [];
    const refused: RefusedTactic[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      const t = makeTactic(e.tileTokens, e.config);
      if (seen.has(t.label)) throw new LibraryCallError(this.library, 'list_tactics', 'a duplicate tactic', `${t.label} listed twice`);
      seen.add(t.label);
      if (e.ok) runnable.push(t);
      else refused.push({ tactic: t, reason: e.reason || '(no reason given)' });
    }
    return { runnable, refused };
  }

  /** The runnable tactics, and the refused ones with the library's reasons (a problem it does not support: none, with the reason). */
  async tactics(problem: Problem): Promise<TacticList> {
    let report;
    try {
      report = this.tacticReport(problem);
    } catch (e) {
      if (e instanceof UnsupportedProblemError) return { tactics: [], unavailable: [{ label: '*', reason: e.message }] };
      throw e;
    }
    return { tactics: report.runnable, unavailable: report.refused.map((r) => ({ label: r.tactic.label, reason: r.reason })) };
  }

  async prepare(c: Case): Promise<LibHandle> {
    return { raw: this.call('prepare', () => this.host.prepare(this.lib, abiCase(c))), problem: c.spec.problem };
  }

  async run(h: LibHandle, tactic: Tactic, opts: RunOptions): Promise<Observed> {
    const r = this.call('run', () => this.host.run(h.raw, { tileTokens: tactic.tileTokens, config: tactic.config, poison: opts.poison }));
    return {
      output: r.output, ids: r.ids, weights: r.weights,
      ...(r.ms >= 0 ? { ms: r.ms } : {}),
      executedTactic: r.executed.tileTokens < 0 ? 'none' : tacticLabel(r.executed.tileTokens, r.executed.config),
    };
  }

  async inputsDigest(h: LibHandle): Promise<string> {
    return this.call('inputs_digest', () => this.host.digest(h.raw));
  }

  async release(h: LibHandle): Promise<void> {
    this.call('release', () => this.host.release(h.raw));
  }

  /** The library stays loaded until the (child) process ends: the ABI has no unload. */
  async close(): Promise<void> {}
}
