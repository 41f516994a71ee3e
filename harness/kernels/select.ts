/**
 * Kernel choice by name: 'native' (the CUDA addon) or 'emulated' (the CPU emulation).
 * The native adapter is imported lazily so that the emulated kernel never loads the addon.
 */
import { BadArgumentError } from '../../reference/errors.js';
import { FAULT_NAMES, type FaultName } from '../faults.js';
import { EmulatedKernel } from './emulated.js';
import type { KernelUnderTest } from './kernel.js';

export const KERNEL_KINDS = ['native', 'emulated'] as const;
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
}

/** Phases of a case in the child process before its tactics run (test hooks, death attribution). */
export type ChildCrashPhase = 'regenerate' | 'prepare';

export function checkKernelChoice(choice: KernelChoice): void {
  if (!(KERNEL_KINDS as readonly string[]).includes(choice.kind)) {
    throw new BadArgumentError('kernel', `one of ${KERNEL_KINDS.join(', ')}`, JSON.stringify(choice.kind));
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
  const { NativeKernel } = await import('./native.js');
  return new NativeKernel(choice.fault !== undefined ? { fault: choice.fault } : {}) as KernelUnderTest;
}

/** Describe a kernel choice: "emulated", "native+fault:gate_up_swapped". */
export function kernelLabel(choice: KernelChoice): string {
  return choice.fault ? `${choice.kind}+fault:${choice.fault}` : choice.kind;
}
