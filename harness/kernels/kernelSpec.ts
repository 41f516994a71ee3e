/**
 * From command-line words to a KernelChoice: `--kernel native | emulated | cmd:"COMMAND" |
 * lib:PATH` (parseKernelSpec), `--kernel-config FILE` (readKernelConfig), and the CLI's
 * default (chooseKernel: native when a CUDA device is usable, else the emulated kernel with a
 * notice; an explicit kind that needs a missing device is a bad argument).
 *
 * A kernel config file is JSON:
 *   { "name": "numpy-fc1-bf16",                     // optional: the name in reports
 *     "kind": "cmd",                                 // a registry kind (select.ts)
 *     "command": "python3 adapters/python/numpy_adapter.py",   // kind cmd
 *     "library": "./libmykernel.so",                 // kind lib
 *     "conventions": { "fc1Activation": "bf16" },    // optional: overrides the kernel's own declaration
 *     "env": { "CUDA_VISIBLE_DEVICES": "0" },        // optional: extra environment of its process
 *     "timeoutS": 600 }                              // optional: longest answer (kind cmd)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConventions } from '../../reference/conventions.js';
import { BadArgumentError, describeValue } from '../../reference/errors.js';
import { FAULT_NAMES, type FaultName } from '../faults.js';
import { gpuAvailability } from '../gpuAvailability.js';
import { checkKernelChoice, kernelForms, KERNEL_KINDS, needsGpu, PROVIDER_KINDS, type KernelChoice } from './select.js';

/** The kind the CLI's default falls back to (with a notice) when no CUDA device is usable. */
const FALLBACK_KIND = 'emulated';

const CONFIG_KEYS = ['name', 'kind', 'command', 'library', 'conventions', 'env', 'timeoutS'] as const;

/** "native", "emulated", "cmd:COMMAND", "lib:PATH" → KernelChoice (checked). */
export function parseKernelSpec(spec: string, fault?: FaultName): KernelChoice {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const entry = Object.prototype.hasOwnProperty.call(PROVIDER_KINDS, kind) ? PROVIDER_KINDS[kind] : undefined;
  const forms = kernelForms();
  if (entry === undefined || (entry.syntax === 'prefix') !== (colon >= 0)) {
    throw new BadArgumentError('--kernel', forms, JSON.stringify(spec));
  }
  const choice: KernelChoice = {
    kind, ...(fault !== undefined ? { fault } : {}),
    ...(entry.syntax === 'prefix' ? entry.withArgument!(spec.slice(colon + 1)) : {}),
  };
  try {
    checkKernelChoice(choice);
  } catch (e) {
    if (e instanceof BadArgumentError && !e.argument.startsWith('--')) throw new BadArgumentError('--kernel', e.expected, e.actual);
    throw e;
  }
  return choice;
}

/** A --kernel-config file → KernelChoice; every field checked, naming the file and the field. */
export function readKernelConfig(file: string, fault?: FaultName): KernelChoice {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BadArgumentError('--kernel-config', 'a readable JSON file (docs/providers.md)', `${file} (${(e as Error).message})`);
  }
  const at = (k: string): string => `--kernel-config ${file}: ${k}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BadArgumentError(at('top level'), 'a JSON object', describeValue(raw));
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k)) throw new BadArgumentError(at(k), `a known field (${CONFIG_KEYS.join(', ')})`, JSON.stringify(k));
  }
  const str = (k: string): string | undefined => {
    if (o[k] === undefined) return undefined;
    if (typeof o[k] !== 'string' || o[k] === '') throw new BadArgumentError(at(k), 'a non-empty string', describeValue(o[k]));
    return o[k] as string;
  };
  const kind = str('kind');
  if (kind === undefined || !KERNEL_KINDS.includes(kind)) throw new BadArgumentError(at('kind'), `one of ${KERNEL_KINDS.join(', ')}`, describeValue(o.kind));
  const env = o.env;
  if (env !== undefined && (typeof env !== 'object' || env === null || Array.isArray(env) || !Object.values(env).every((v) => typeof v === 'string'))) {
    throw new BadArgumentError(at('env'), 'an object of string values', describeValue(env));
  }
  const timeoutS = o.timeoutS;
  if (timeoutS !== undefined && !(typeof timeoutS === 'number' && timeoutS > 0 && Number.isFinite(timeoutS))) {
    throw new BadArgumentError(at('timeoutS'), 'a number of seconds > 0', describeValue(timeoutS));
  }
  const name = str('name');
  const command = str('command');
  const library = str('library');
  const choice: KernelChoice = {
    kind, configFile: resolve(file),
    ...(name !== undefined ? { name } : {}),
    ...(command !== undefined ? { command } : {}),
    ...(library !== undefined ? { library } : {}),
    ...(o.conventions !== undefined ? { conventions: parseConventions(o.conventions, at('conventions')) } : {}),
    ...(env !== undefined ? { env: env as Record<string, string> } : {}),
    ...(timeoutS !== undefined ? { timeoutS } : {}),
    ...(fault !== undefined ? { fault } : {}),
  };
  try {
    checkKernelChoice(choice);
  } catch (e) {
    if (e instanceof BadArgumentError) throw new BadArgumentError(at(e.argument), e.expected, e.actual);
    throw e;
  }
  return choice;
}

export interface KernelRequest {
  /** --kernel's text, if given. */
  readonly kernel?: string;
  /** --kernel-config's path, if given. */
  readonly kernelConfig?: string;
  readonly fault?: FaultName;
  /** --timeout: seconds one request to an out-of-process kernel may take (unless its config sets timeoutS). */
  readonly timeoutS?: number;
  /**
   * Without a usable CUDA device, a default (not explicit) native kernel: falls back to the
   * emulated kernel with a notice (default), or is refused (MOE_HARNESS_REQUIRE_GPU=1: every fallback a failure).
   */
  readonly fallback?: 'emulated_with_notice' | 'refuse';
}

/** The kernel explicitly asked for (--kernel or --kernel-config), parsed and checked; undefined when neither. */
export function requestedKernel(req: KernelRequest): KernelChoice | undefined {
  if (req.fault !== undefined && !FAULT_NAMES.includes(req.fault)) throw new BadArgumentError('--fault', `one of ${FAULT_NAMES.join(', ')}`, JSON.stringify(req.fault));
  if (req.kernel !== undefined && req.kernelConfig !== undefined) {
    throw new BadArgumentError('--kernel / --kernel-config', 'one of them', 'both');
  }
  return req.kernelConfig !== undefined ? readKernelConfig(req.kernelConfig, req.fault)
    : req.kernel !== undefined ? parseKernelSpec(req.kernel, req.fault) : undefined;
}

/**
 * The kernel a CLI command drives. Default: native when a CUDA device is usable, else the
 * emulated kernel with a notice (returned, and to be printed). A kind that needs a CUDA
 * device, asked for explicitly on a machine without one, is a bad argument.
 */
export async function chooseKernel(req: KernelRequest): Promise<{ choice: KernelChoice; notice?: string }> {
  const explicit = requestedKernel(req);
  const chosen = explicit ?? { kind: 'native', ...(req.fault ? { fault: req.fault } : {}) };
  const choice: KernelChoice = req.timeoutS !== undefined && chosen.timeoutS === undefined ? { ...chosen, timeoutS: req.timeoutS } : chosen;
  if (!needsGpu(choice)) return { choice };
  const gpu = await gpuAvailability();
  if (!gpu.available) {
    if (explicit !== undefined) {
      throw new BadArgumentError('--kernel', `${FALLBACK_KIND}, or ${choice.kind} on a machine with a usable CUDA device`, `${choice.kind} (${gpu.detail})`,
        'moe-harness kernels lists what runs here');
    }
    if (req.fallback === 'refuse') {
      throw new BadArgumentError('MOE_HARNESS_REQUIRE_GPU', `a usable CUDA device for the ${choice.kind} kernel (unset it, or pass --kernel ${FALLBACK_KIND}, to run the ${FALLBACK_KIND} kernel)`,
        `1, but there is none (${gpu.detail})`);
    }
    const notice = `NOTICE: no usable CUDA device (${gpu.detail}); running the EMULATED kernel instead. ` +
      'These results say nothing about the native kernel. Pass --kernel emulated to silence this notice.';
    return { choice: { kind: FALLBACK_KIND, ...(req.fault ? { fault: req.fault } : {}) }, notice };
  }
  if (req.fault && choice.kind === 'native' && !gpu.faultsBuild) {
    throw new BadArgumentError('--fault', 'the native faults build (node native/build.mjs --faults), or --kernel emulated', `${req.fault} without a faults build`);
  }
  return { choice };
}
