/**
 * The registry of provider kinds, keyed by name: the only place that knows which kinds of
 * kernel exist. Everything outside harness/kernels/ holds a KernelChoice (plain data, sent to
 * child processes as is) and calls createKernel / kernelLabel / kernelArgs / runnerIsolation.
 *
 * A kind is spelled on the command line as its name ("native", "emulated") or, for kinds that
 * take an argument, as "prefix:argument" ("cmd:python3 adapters/python/numpy_adapter.py",
 * "lib:./libmykernel.so"); kernelSpec.ts parses both and --kernel-config files, in one place.
 *   native    our CUDA addon, direct (native.ts); child isolation
 *   emulated  the CPU emulation with its own tiling and the fault catalog (emulated.ts)
 *   cmd       any command speaking docs/process-protocol.md (process.ts); isolates itself
 *   lib       a shared library behind the C ABI (lib.ts, docs/c-abi.md); child isolation only
 * Adapters are imported lazily so that the emulated kernel never loads an addon.
 */
import { existsSync } from 'node:fs';
import { BadArgumentError } from '../../reference/errors.js';
import { FAULT_NAMES, type FaultName } from '../faults.js';
import type { Conventions } from '../../reference/conventions.js';
import type { Provider } from './provider.js';

/**
 * Where a campaign runs a provider: 'child' (in a forked harness child restarted after a
 * crash: a CUDA fault poisons the process; --isolation inline may override it), 'child_only'
 * (never in this process: --isolation inline is refused; a shared library is loaded only in
 * a child), or 'self' (the provider already keeps the kernel in a process of its own and
 * restarts it: the harness drives it inline).
 */
export type ProviderIsolation = 'child' | 'child_only' | 'self';

/** Phases of a case in the child process before its tactics run (test hooks, death attribution). */
export type ChildCrashPhase = 'regenerate' | 'prepare';

export interface KernelChoice {
  /** A key of PROVIDER_KINDS. */
  readonly kind: string;
  readonly fault?: FaultName;
  /** Test hook of the emulated kernel (see EmulatedOptions.crashTactic). */
  readonly crashTactic?: string;
  /** Test hook of the child process (child.ts): it dies (exit 134) in this phase of a case. */
  readonly crashPhase?: ChildCrashPhase;
  /** With crashPhase: die only in the first N children that run the case (default: every one). */
  readonly crashAttempts?: number;
  /** kind 'cmd': the adapter command line (run by /bin/sh). */
  readonly command?: string;
  /** kind 'lib': the shared library's path (kernels/lib.ts). */
  readonly library?: string;
  /** A name for reports (kernel config files); defaults to the kind's own label. */
  readonly name?: string;
  /** Declared conventions overriding what the kernel declares itself (kernel config files). */
  readonly conventions?: Conventions;
  /**
   * Extra environment of the kernel's process: the adapter's (cmd), or variables set in the
   * child process before the library is loaded (lib).
   */
  readonly env?: Readonly<Record<string, string>>;
  /** The --kernel-config file this choice came from (replay commands name it). */
  readonly configFile?: string;
  /** kind 'cmd': seconds one request may take before the adapter is killed (default 300). */
  readonly timeoutS?: number;
}

/** What `moe-harness kernels` prints for a kind. */
export interface KindAvailability {
  readonly available: boolean;
  readonly detail: string;
}

export interface ProviderKindEntry {
  /** How it is written: a bare name, or "prefix:argument". */
  readonly syntax: 'name' | 'prefix';
  readonly help: string;
  readonly isolation: ProviderIsolation;
  /** Whether --fault applies (the fault catalog of harness/faults.ts). */
  readonly faults: 'catalog' | 'none';
  /** What the kind needs on this machine: a usable CUDA device (the CLI then falls back to emulated with a notice), or nothing. */
  readonly requires: 'cuda_device' | 'nothing';
  /** The argument after "prefix:", as the user wrote it (what it names, e.g. "the path of a shared library"). */
  readonly argument?: string;
  create(choice: KernelChoice): Promise<Provider>;
  availability(): Promise<KindAvailability>;
  /** The argument after "prefix:" (syntax 'prefix'). */
  argumentOf?(choice: KernelChoice): string | undefined;
  /** Put the argument after "prefix:" into a choice. */
  withArgument?(argument: string): Partial<KernelChoice>;
  /** Checks of the kind beyond the common ones (a BadArgumentError naming the option). */
  check?(choice: KernelChoice): void;
}

export const PROVIDER_KINDS: Readonly<Record<string, ProviderKindEntry>> = {
  native: {
    syntax: 'name', isolation: 'child', faults: 'catalog', requires: 'cuda_device',
    help: 'our CUDA addon, direct (native/build/Release/moe_native.node)',
    async create(choice) {
      const { NativeKernel } = await import('./native.js');
      return new NativeKernel(choice.fault !== undefined ? { fault: choice.fault } : {});
    },
    async availability() {
      const { gpuAvailability } = await import('../gpuAvailability.js');
      const g = await gpuAvailability();
      return { available: g.available, detail: g.detail };
    },
  },
  emulated: {
    syntax: 'name', isolation: 'child', faults: 'catalog', requires: 'nothing',
    help: 'the CPU emulation with its own tiling and the fault catalog (proves the harness catches bugs)',
    async create(choice) {
      const { EmulatedKernel } = await import('./emulated.js');
      return new EmulatedKernel({
        ...(choice.fault !== undefined ? { fault: choice.fault } : {}),
        ...(choice.crashTactic !== undefined ? { crashTactic: choice.crashTactic } : {}),
      });
    },
    async availability() {
      return { available: true, detail: 'always (CPU)' };
    },
  },
  cmd: {
    syntax: 'prefix', isolation: 'self', faults: 'none', requires: 'nothing', argument: 'COMMAND',
    help: 'any command speaking docs/process-protocol.md, e.g. cmd:"python3 adapters/python/numpy_adapter.py"',
    async create(choice) {
      const { ProcessProvider } = await import('./process.js');
      return new ProcessProvider(choice);
    },
    async availability() {
      const { pythonAvailability } = await import('./pythonAvailability.js');
      const py = pythonAvailability();
      return { available: true, detail: `spawns the command; the shipped Python adapters: ${py.detail}` };
    },
    argumentOf: (choice) => choice.command,
    withArgument: (command) => ({ command }),
  },
  lib: {
    syntax: 'prefix', isolation: 'child_only', faults: 'none', requires: 'nothing', argument: 'PATH',
    help: 'a shared library behind the C ABI (docs/c-abi.md), loaded only in a child process, e.g. lib:native/build/Release/libmoe_abi_cpu.so',
    async create(choice) {
      const { LibKernel } = await import('./lib.js');
      return new LibKernel({ library: choice.library!, ...(choice.env ? { environment: choice.env } : {}) });
    },
    async availability() {
      const { loadAbiHost } = await import('./libHost.js');
      const h = loadAbiHost();
      return h.ok ? { available: true, detail: 'the C ABI host addon is built; any library implementing the ABI' }
        : { available: false, detail: `C ABI host unavailable: ${h.reason}` };
    },
    argumentOf: (choice) => choice.library,
    withArgument: (library) => ({ library }),
    check(choice) {
      if (!existsSync(choice.library!)) {
        throw new BadArgumentError('--kernel', 'lib:PATH naming an existing shared library', `lib:${choice.library} (no such file)`);
      }
    },
  },
};

export const KERNEL_KINDS = Object.keys(PROVIDER_KINDS);
export type KernelKind = string;

/** How each kind is written: "native | emulated | cmd:COMMAND | lib:PATH". */
export function kernelForms(separator = ' | '): string {
  return KERNEL_KINDS.map((k) => { const e = PROVIDER_KINDS[k]!; return e.syntax === 'prefix' ? `${k}:${e.argument ?? 'ARGUMENT'}` : k; }).join(separator);
}

export function kindEntry(kind: string): ProviderKindEntry {
  const e = Object.prototype.hasOwnProperty.call(PROVIDER_KINDS, kind) ? PROVIDER_KINDS[kind] : undefined;
  if (e === undefined) throw new BadArgumentError('kernel', `one of ${kernelForms(', ')}`, JSON.stringify(kind));
  return e;
}

export function checkKernelChoice(choice: KernelChoice): void {
  const e = kindEntry(choice.kind);
  if (choice.fault !== undefined) {
    if (!FAULT_NAMES.includes(choice.fault)) throw new BadArgumentError('fault', `one of ${FAULT_NAMES.join(', ')}`, JSON.stringify(choice.fault));
    if (e.faults === 'none') {
      throw new BadArgumentError('--fault', `a kernel kind with the fault catalog (${KERNEL_KINDS.filter((k) => PROVIDER_KINDS[k]!.faults === 'catalog').join(', ')}); a ${choice.kind}: kernel has its own faults`, choice.kind);
    }
  }
  if (e.syntax === 'prefix' && !(e.argumentOf?.(choice) ?? '').trim()) {
    throw new BadArgumentError('kernel', `${choice.kind}:${e.argument ?? 'ARGUMENT'} with a non-empty argument`, JSON.stringify(`${choice.kind}:`));
  }
  e.check?.(choice);
}

export async function createKernel(choice: KernelChoice): Promise<Provider> {
  checkKernelChoice(choice);
  return kindEntry(choice.kind).create(choice);
}

/** The `--kernel` text of a choice: "emulated", "lib:PATH", "cmd:COMMAND" (what kernelSpec.parseKernelSpec reads). */
export function kernelArgument(choice: KernelChoice): string {
  const e = kindEntry(choice.kind);
  return e.syntax === 'prefix' ? `${choice.kind}:${e.argumentOf?.(choice) ?? ''}` : choice.kind;
}

/** Describe a kernel choice: "emulated", "native+fault:gate_up_swapped", "cmd:python3 numpy_adapter.py". */
export function kernelLabel(choice: KernelChoice): string {
  if (choice.name !== undefined) return choice.name;
  const base = kernelArgument(choice);
  return choice.fault ? `${base}+fault:${choice.fault}` : base;
}

/** Single-quote a string for a POSIX shell. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command-line options that select this kernel again (replay commands). */
export function kernelArgs(choice: KernelChoice): string {
  const fault = choice.fault ? ` --fault ${choice.fault}` : '';
  if (choice.configFile !== undefined) return `--kernel-config ${shellQuote(choice.configFile)}${fault}`;
  return `--kernel ${shellQuote(kernelArgument(choice))}${fault}`;
}

/**
 * The runner isolation to use for a requested one: 'self'-isolated kinds always run inline,
 * 'child_only' kinds always in a child (asking for inline is a bad argument).
 */
export function runnerIsolation(choice: KernelChoice, requested: 'child' | 'inline'): 'child' | 'inline' {
  const isolation = kindEntry(choice.kind).isolation;
  if (isolation === 'self') return 'inline';
  if (isolation === 'child_only' && requested === 'inline') {
    throw new BadArgumentError('--isolation', `child with --kernel ${choice.kind}:… (a ${choice.kind}: kernel is loaded only in a child process)`, 'inline');
  }
  return requested;
}

/**
 * Isolation for a one-off run (replay): a child for kinds whose faults poison the process
 * (those that need a CUDA device, and those never loaded here), this process otherwise.
 */
export function oneOffIsolation(choice: KernelChoice): 'child' | 'inline' {
  const e = kindEntry(choice.kind);
  return e.requires === 'cuda_device' || e.isolation === 'child_only' ? 'child' : 'inline';
}

/** Whether the kind needs a usable CUDA device here ('native'); the CLI falls back with a notice. */
export function needsGpu(choice: KernelChoice): boolean {
  return kindEntry(choice.kind).requires === 'cuda_device';
}
