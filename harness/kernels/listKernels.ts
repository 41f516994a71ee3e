/**
 * `moe-harness kernels`: every provider kind of the registry (select.ts), whether it can run
 * here, and why not.
 */
import { KERNEL_KINDS, PROVIDER_KINDS } from './select.js';

export interface KernelListing {
  readonly kind: string;
  readonly form: string;
  readonly available: boolean;
  readonly detail: string;
  readonly help: string;
}

export async function listKernels(): Promise<KernelListing[]> {
  const out: KernelListing[] = [];
  for (const kind of KERNEL_KINDS) {
    const e = PROVIDER_KINDS[kind]!;
    let available = false;
    let detail: string;
    try {
      const a = await e.availability();
      available = a.available;
      detail = a.detail;
    } catch (err) {
      detail = `availability check failed: ${(err as Error).message}`;
    }
    out.push({ kind, form: e.syntax === 'prefix' ? `${kind}:…` : kind, available, detail, help: e.help });
  }
  return out;
}

export function formatKernelListing(list: readonly KernelListing[]): string[] {
  const w = Math.max(...list.map((l) => l.form.length)) + 2;
  return list.flatMap((l) => [
    `${l.form.padEnd(w)}${l.available ? 'available' : 'NOT available'}: ${l.detail}`,
    `${''.padEnd(w)}${l.help}`,
  ]);
}
