/**
 * The registry of provider kinds, keyed by name: the only place that knows which kinds of
 * kernel exist. Everything outside harness/kernels/ holds a KernelChoice (plain data, sent to
 * child processes as is) and calls createKernel / kernelLabel / kernelArgs / runnerIsolation.
 *
 * A kind is spelled on the command line as its name ("native", "emulated") or, for kinds that
 * take an argument, as "prefix:argument" ("cmd:python3 adapters/python/numpy_adapter.py",
 * "lib:./libmykernel.so"); kernelSpec.ts parses both and --kernel-config files. A new kind
 * (door 1's "lib") is one more registry entry.
 */
import { BadArgumentError } from '../../reference/errors.js';
import { FAULT_NAMES, type FaultName } from '../faults.js';
import type { Conventions } from '../../reference/conventions.js';
import type { Provider } from './provider.js';

/**
 * Where a campaign runs a provider: 'child' (in a forked harness child restarted after a
 * crash: a CUDA fault poisons the process), or 'self' (the provider already keeps the kernel
 * in a process of its own and restarts it: the harness drives it inline).
 */
export type ProviderIsolation = 'child' | 'self';

export interface KernelChoice {
  /** A key of PROVIDER_KINDS. */
  readonly kind: string;
  readonly fault?: FaultName;
  /** Test hook of the emulated kernel (see EmulatedOptions.crashTactic). */
  readonly crashTactic?: string;
  /** kind 'process': the adapter command line (run by /bin/sh). */
  readonly command?: string;
  /** kind 'lib': the shared library's path. */
  readonly path?: string;
  /** A name for reports (kernel config files); defaults to the kind's own label. */
  readonly name?: string;
  /** Declared conventions overriding what the kernel declares itself (kernel config files). */
  readonly conventions?: Conventions;
  /** Extra environment of the kernel's process. */
  readonly env?: Readonly<Record<string, string>>;
  /** The --kernel-config file this choice came from (replay commands name it). */
  readonly configFile?: string;
  /** kind 'process': seconds one request may take before the adapter is killed (default 300). */
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
  readonly faults: boolean;
  /** What the kind needs on this machine: a usable CUDA device (the CLI then falls back to emulated with a notice), or nothing. */
  readonly requires: 'cuda_device' | 'nothing';
  create(choice: KernelChoice): Promise<Provider>;
  availability(): Promise<KindAvailability>;
  /** The argument after "prefix:" (syntax 'prefix'). */
  argumentOf?(choice: KernelChoice): string | undefined;
  /** Put the argument after "prefix:" into a choice. */
  withArgument?(argument: string): Partial<KernelChoice>;
}

export const PROVIDER_KINDS: Readonly<Record<string, ProviderKindEntry>> = {
  native: {
    syntax: 'name', isolation: 'child', faults: true, requires: 'cuda_device',
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
    syntax: 'name', isolation: 'child', faults: true, requires: 'nothing',
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
    syntax: 'prefix', isolation: 'self', faults: false, requires: 'nothing',
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
};

export const KERNEL_KINDS = Object.keys(PROVIDER_KINDS);
export type KernelKind = string;

function entryOf(kind: string): ProviderKindEntry {
  const e = Object.prototype.hasOwnProperty.call(PROVIDER_KINDS, kind) ? PROVIDER_KINDS[kind] : undefined;
  if (e === undefined) {
    throw new BadArgumentError('kernel', `one of ${KERNEL_KINDS.map((k) => (PROVIDER_KINDS[k]!.syntax === 'prefix' ? `${k}:…` : k)).join(', ')}`, JSON.stringify(kind));
  }
  return e;
}

export function checkKernelChoice(choice: KernelChoice): void {
  const e = entryOf(choice.kind);
  if (choice.fault !== undefined) {
    if (!FAULT_NAMES.includes(choice.fault)) throw new BadArgumentError('fault', `one of ${FAULT_NAMES.join(', ')}`, JSON.stringify(choice.fault));
    if (!e.faults) throw new BadArgumentError('--fault', `a kernel kind with the fault catalog (${KERNEL_KINDS.filter((k) => PROVIDER_KINDS[k]!.faults).join(', ')})`, choice.kind);
  }
  if (e.syntax === 'prefix' && !(e.argumentOf?.(choice) ?? '').trim()) {
    throw new BadArgumentError('kernel', `${choice.kind}:ARGUMENT with a non-empty argument`, JSON.stringify(`${choice.kind}:`));
  }
}

export async function createKernel(choice: KernelChoice): Promise<Provider> {
  checkKernelChoice(choice);
  return entryOf(choice.kind).create(choice);
}

/** Describe a kernel choice: "emulated", "native+fault:gate_up_swapped", "cmd:python3 numpy_adapter.py". */
export function kernelLabel(choice: KernelChoice): string {
  if (choice.name !== undefined) return choice.name;
  const e = entryOf(choice.kind);
  const base = e.syntax === 'prefix' ? `${choice.kind}:${e.argumentOf?.(choice) ?? ''}` : choice.kind;
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
  const e = entryOf(choice.kind);
  const spec = e.syntax === 'prefix' ? `${choice.kind}:${e.argumentOf?.(choice) ?? ''}` : choice.kind;
  return `--kernel ${shellQuote(spec)}${fault}`;
}

/** The runner isolation to use for a requested one: 'self'-isolated kinds always run inline. */
export function runnerIsolation(choice: KernelChoice, requested: 'child' | 'inline'): 'child' | 'inline' {
  return entryOf(choice.kind).isolation === 'self' ? 'inline' : requested;
}

/**
 * Isolation for a one-off run (replay): a child for kinds whose faults poison the process
 * (those that need a CUDA device), this process otherwise.
 */
export function oneOffIsolation(choice: KernelChoice): 'child' | 'inline' {
  return entryOf(choice.kind).requires === 'cuda_device' ? 'child' : 'inline';
}

/** Whether the kind needs a usable CUDA device here ('native'); the CLI falls back with a notice. */
export function needsGpu(choice: KernelChoice): boolean {
  return entryOf(choice.kind).requires === 'cuda_device';
}
