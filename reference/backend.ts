/**
 * Which tfjs backend the fast path computes with. Preference: @tensorflow/tfjs-node (native
 * TensorFlow, optional dependency, loaded with a guarded dynamic import), else
 * @tensorflow/tfjs-backend-wasm with SIMD, its .wasm files read from node_modules (never the
 * network), one single-threaded instance per worker thread (the fast path spreads experts
 * over worker_threads itself).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import { initTfjsWasm } from './fastpath/tfjsWasmInternals.js';
import { copyingEngine, wasmEngine, type MatrixEngine } from './fastpath/matrixEngine.js';

export interface BackendInfo {
  /** e.g. 'tfjs-wasm-simd', 'tfjs-node'. */
  readonly name: string;
  /** Threads the reference's matrix work runs on. */
  readonly threads: number;
  /** Why the preferred backend was not used, when it was not. */
  readonly note?: string;
}

const TFJS_NODE = '@tensorflow/tfjs-node';

/** Whether tfjs-node can be resolved (without loading it); the reason when not. */
export function tfjsNodeStatus(): { available: boolean; reason?: string } {
  try {
    createRequire(import.meta.url).resolve(TFJS_NODE);
    return { available: true };
  } catch (e) {
    return { available: false, reason: `${TFJS_NODE} is not installed (${(e as Error).message.split('\n')[0]})` };
  }
}

/** Threads the fast path uses by default: every core. */
export function defaultThreads(): number {
  return availableParallelism();
}

/**
 * Load a matrix engine in the current thread (called by the fast path's workers). The
 * modules are loaded with require, so tfjs-core and the backend share one CommonJS
 * instance under any loader (an ESM loader may otherwise pick tfjs-core's ESM build while
 * the backend registers itself with the CommonJS one).
 */
export async function loadMatrixEngine(): Promise<{ engine: MatrixEngine; note?: string }> {
  const require = createRequire(import.meta.url);
  const node = tfjsNodeStatus();
  if (node.available) {
    try {
      const tf = require(TFJS_NODE) as typeof TfCore;
      return { engine: copyingEngine(tf, 'tfjs-node') };
    } catch (e) {
      node.reason = `${TFJS_NODE} failed to load (${(e as Error).message.split('\n')[0]})`;
    }
  }
  const tf = require('@tensorflow/tfjs-core') as typeof TfCore;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof TfWasm;
  const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const { simd } = await initTfjsWasm(tf, wasm.setWasmPaths, dir);
  return { engine: wasmEngine(tf, simd ? 'tfjs-wasm-simd' : 'tfjs-wasm', simd), note: node.reason };
}

/**
 * The backend the fast path uses and its thread count (starts the worker pool, which
 * loads the backend in every worker).
 */
export async function getBackend(threads = defaultThreads()): Promise<BackendInfo> {
  const { inFastPathQueue, workerPool } = await import('./fastpath/pool.js');
  // Through the fast path's queue: a different thread count restarts the pool.
  return inFastPathQueue(async () => (await workerPool(threads)).info);
}
