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

/** Load a matrix engine in the current thread (called by the fast path's workers). */
export async function loadMatrixEngine(): Promise<{ engine: MatrixEngine; note?: string }> {
  const node = tfjsNodeStatus();
  if (node.available) {
    try {
      const spec: string = TFJS_NODE; // a variable: the module is optional and may have no types
      const tf = (await import(spec)) as typeof TfCore;
      return { engine: copyingEngine(tf, 'tfjs-node') };
    } catch (e) {
      node.reason = `${TFJS_NODE} failed to load (${(e as Error).message.split('\n')[0]})`;
    }
  }
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setWasmPaths(dir + '/');
  if (!(await tf.setBackend('wasm'))) throw new Error(`tfjs-backend-wasm failed to initialize (wasm files in ${dir})`);
  await tf.ready();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  return { engine: wasmEngine(tf, simd ? 'tfjs-wasm-simd' : 'tfjs-wasm'), note: node.reason };
}

/**
 * The backend the fast path uses and its thread count (starts the worker pool, which
 * loads the backend in every worker).
 */
export async function getBackend(threads = defaultThreads()): Promise<BackendInfo> {
  const { workerPool } = await import('./fastpath/pool.js');
  const pool = await workerPool(threads);
  return pool.info;
}
