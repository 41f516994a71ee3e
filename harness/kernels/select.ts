/**
 * Kernel choice by name: 'native' (the CUDA addon), 'emulated' (the CPU emulation) or
 * 'lib' (a shared library behind the C ABI, `--kernel lib:PATH`; child isolation only).
 * The native and lib adapters are imported lazily so that the emulated kernel never loads an addon.
 */
import { existsSync } from 'node:fs';
import { BadArgumentError } from '../../reference/errors.js';
import { FAULT_NAMES, type FaultName } from '../faults.js';
import { EmulatedKernel } from './emulated.js';
import type { KernelUnderTest } from './kernel.js';

export const KERNEL_KINDS = ['native', 'emulated', 'lib'] as const;
export type KernelKind = (typeof KERNEL_KINDS)[number];

export interface KernelChoice {
  readonly kind: KernelKind;
  readonly fault?: FaultName;
  /** Test hook of the emulated kernel (see EmulatedOptions.crashTactic). */
  readonly crashTactic?: string;
  /** Test hook of the child process (child.ts): it dies (exit 134) in this phase of a case. */
  readonly crashPhase?: ChildCrashPhase;
  /** With crashPhase: die only in the first N children that run the case (default: every one). */
  readonly crashAttempts?: number;
  /** kind 'lib': path of the shared library (kernels/lib.ts). */
  readonly library?: string;
  /** kind 'lib': variables set in the child process before the library is loaded. */
  readonly environment?: Readonly<Record<string, string>>;
}

/** `--kernel` text to a choice: "native", "emulated" or "lib:PATH". */
export function parseKernelArgument(text: string): KernelChoice {
  if (text.startsWith('lib:')) {
    if (text.length === 4) throw new BadArgumentError('--kernel', 'lib:PATH with the path of a shared library', JSON.stringify(text));
    return { kind: 'lib', library: text.slice(4) };
  }
  if (text === 'lib' || !(KERNEL_KINDS as readonly string[]).includes(text)) {
    throw new BadArgumentError('--kernel', 'native, emulated or lib:PATH', JSON.stringify(text));
  }
  return { kind: text as KernelKind };
}

/** The `--kernel` text of a choice (inverse of parseKernelArgument). */
export function kernelArgument(choice: KernelChoice): string {
  return choice.kind === 'lib' ? `lib:${choice.library ?? ''}` : choice.kind;
}

/** Phases of a case in the child process before its tactics run (test hooks, death attribution). */
export type ChildCrashPhase = 'regenerate' | 'prepare';

export function checkKernelChoice(choice: KernelChoice): void {
  if (!(KERNEL_KINDS as readonly string[]).includes(choice.kind)) {
    throw new BadArgumentError('kernel', `one of ${KERNEL_KINDS.join(', ')}`, JSON.stringify(choice.kind));
  }
  if (choice.kind === 'lib' && (typeof choice.library !== 'string' || choice.library === '')) {
    throw new BadArgumentError('kernel.library', 'the path of a shared library (--kernel lib:PATH)', JSON.stringify(choice.library));
  }
  if (choice.kind === 'lib' && !existsSync(choice.library!)) {
    throw new BadArgumentError('--kernel', 'lib:PATH naming an existing shared library', `lib:${choice.library} (no such file)`);
  }
  if (choice.kind === 'lib' && choice.fault !== undefined) {
    throw new BadArgumentError('--fault', 'no fault with a lib: kernel (a library has its own faults)', choice.fault);
  }
  if (choice.fault !== undefined && !FAULT_NAMES.includes(choice.fault)) {
    throw new BadArgumentError('fault', `one of ${FAULT_NAMES.join(', ')}`, JSON.stringify(choice.fault));
  }
}

export async function createKernel(choice: KernelChoice): Promise<KernelUnderTest> {
  checkKernelChoice(choice);
  if (choice.kind === 'emulated') {
    return new EmulatedKernel({
      ...(choice.fault !== undefined ? { fault: choice.fault } : {}),
      ...(choice.crashTactic !== undefined ? { crashTactic: choice.crashTactic } : {}),
    }) as KernelUnderTest;
  }
  if (choice.kind === 'lib') {
    const { LibKernel } = await import('./lib.js');
    return new LibKernel({ library: choice.library!, ...(choice.environment ? { environment: choice.environment } : {}) }) as KernelUnderTest;
  }
  const { NativeKernel } = await import('./native.js');
  return new NativeKernel(choice.fault !== undefined ? { fault: choice.fault } : {}) as KernelUnderTest;
}

/** Describe a kernel choice: "emulated", "native+fault:gate_up_swapped". */
export function kernelLabel(choice: KernelChoice): string {
  return choice.fault ? `${kernelArgument(choice)}+fault:${choice.fault}` : kernelArgument(choice);
}
