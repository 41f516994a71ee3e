/**
 * The native kernel under test: an adapter over native/index.ts (the only door to the
 * CUDA addon). Faults are passed per run (they exist only in the faults build).
 */
import type { Case } from '../../reference/case.js';
import { BadArgumentError, UnsupportedProblemError } from '../../reference/errors.js';
import type { Problem } from '../../reference/problem.js';
import {
  assertValidTactic, deviceInfo, inputsDigest, nativeStatus, prepare, release, runMoe, selectNativeVariant, tacticConfigs, validTactics,
  type NativeHandle,
} from '../../native/index.js';
import { QUANT_MODES, ROUTING_METHODS } from '../../reference/problem.js';
import type { FaultName } from '../faults.js';
import { DEFAULT_CONVENTIONS } from '../../reference/conventions.js';
import { makeTactic, type Observed, type Provider, type ProviderDescription, type RunOptions, type Tactic, type TacticList, type UnavailableTactic } from './provider.js';

export interface NativeOptions {
  readonly fault?: FaultName;
}

export class NativeKernel implements Provider<NativeHandle> {
  readonly name: string;
  readonly fault: FaultName | undefined;

  constructor(opts: NativeOptions = {}) {
    this.fault = opts.fault;
    this.name = opts.fault ? `native+fault:${opts.fault}` : 'native';
    // Faults exist only in the faults build of the addon (native/build.mjs --faults).
    if (opts.fault !== undefined) selectNativeVariant('faults');
    const s = nativeStatus();
    if (!s.loaded || !s.builtWithCuda) {
      throw new UnsupportedProblemError('native kernel', 'the CUDA addon loaded and built with CUDA', s.reason ?? (s.loaded ? 'built without CUDA' : 'not loaded'));
    }
    if (opts.fault !== undefined && !s.faultsBuild) {
      throw new UnsupportedProblemError('fault', 'the native faults build (MOE_FAULTS=ON)', 'a build without faults');
    }
  }

  async describe(): Promise<ProviderDescription> {
    const s = nativeStatus();
    let device: string;
    try {
      const d = await deviceInfo();
      device = `${d.name} (${d.sm})`;
    } catch (e) {
      device = `no usable device (${(e as Error).message})`;
    }
    return {
      name: this.name, version: `addon:${s.variant}${s.path ? `@${s.path}` : ''}`, device,
      quantModes: QUANT_MODES, routingMethods: ROUTING_METHODS, conventions: DEFAULT_CONVENTIONS,
      timing: { coldL2: s.coldL2, graphReplay: 'unsupported' },
    };
  }

  async tactics(problem: Problem): Promise<TacticList> {
    const tactics = validTactics(problem).map((t) => makeTactic(t.tileTokens, t.config));
    const valid = new Set(tactics.map((t) => t.label));
    const unavailable: UnavailableTactic[] = [];
    const table = tacticConfigs();
    for (const tileTokens of table.tileTokens) {
      for (const { config } of table.configs) {
        const t = makeTactic(tileTokens, config);
        if (valid.has(t.label)) continue;
        let reason = 'not enumerated by the addon for this problem';
        try {
          assertValidTactic(problem, { tileTokens, config });
        } catch (e) {
          reason = (e as Error).message;
        }
        unavailable.push({ label: t.label, reason });
      }
    }
    return { tactics, unavailable };
  }

  prepare(c: Case): Promise<NativeHandle> {
    return prepare(c);
  }

  async run(h: NativeHandle, tactic: Tactic, opts: RunOptions): Promise<Observed> {
    if (opts.launch !== undefined && opts.launch !== 'stream') {
      throw new BadArgumentError('options.launch', "'stream' (the native provider has no CUDA-graph replay: describe().timing.graphReplay is 'unsupported')", JSON.stringify(opts.launch));
    }
    const r = await runMoe(h, {
      tactic: { tileTokens: tactic.tileTokens, config: tactic.config },
      poison: opts.poison,
      ...(this.fault !== undefined ? { fault: this.fault } : {}),
      ...(opts.flushL2Bytes ? { flushL2Bytes: opts.flushL2Bytes } : {}),
    });
    // The addon has no fallback: runMoe throws for a tactic it will not run (checkTactic), so
    // the tactic it executed is the one it was handed.
    return { output: r.output, ids: r.ids, weights: r.weights, ms: r.ms, executedTactic: tactic.label };
  }

  inputsDigest(h: NativeHandle): Promise<string> {
    return inputsDigest(h);
  }

  async release(h: NativeHandle): Promise<void> {
    release(h);
  }

  async close(): Promise<void> {}
}
