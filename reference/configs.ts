/**
 * The standard configurations of SPEC §6, keyed by name. A named configuration is a
 * Problem with every field but T fixed; `configProblem(name, T)` makes one.
 */
import { BadArgumentError } from './errors.js';
import type { Problem } from './problem.js';

type ConfigTemplate = Omit<Problem, 'T' | 'name'>;

const full = (E: number) => ({ E, localOffset: 0, localExperts: E });

const CONFIGS = {
  'deepseek-v3': {
    ...full(256), topK: 8, H: 7168, I: 2048, quantMode: 'nvfp4', logitsDtype: 'float32', biasDtype: 'float32',
    routing: { method: 'deepseek_v3', nGroup: 8, topkGroup: 4, routedScalingFactor: 2.5 }, activation: { kind: 'swiglu' },
  },
  'deepseek-lite': {
    ...full(72), topK: 6, H: 2048, I: 1408, quantMode: 'nvfp4', logitsDtype: 'float32', biasDtype: 'float32',
    routing: { method: 'deepseek_v3', nGroup: 1, topkGroup: 1, routedScalingFactor: 2.5 }, activation: { kind: 'swiglu' },
  },
  'qwen3-235b-a22b': {
    ...full(128), topK: 8, H: 4096, I: 1536, quantMode: 'nvfp4', logitsDtype: 'float32', biasDtype: 'none',
    routing: { method: 'renormalize' }, activation: { kind: 'swiglu' },
  },
  'qwen3-30b-a3b': {
    ...full(128), topK: 8, H: 2048, I: 768, quantMode: 'nvfp4', logitsDtype: 'float32', biasDtype: 'none',
    routing: { method: 'renormalize' }, activation: { kind: 'swiglu' },
  },
  'qwen3-next-80b': {
    ...full(512), topK: 10, H: 2048, I: 512, quantMode: 'nvfp4', logitsDtype: 'float32', biasDtype: 'none',
    routing: { method: 'renormalize' }, activation: { kind: 'swiglu' },
  },
  'gpt-oss-120b': {
    ...full(128), topK: 4, H: 2880, I: 2880, quantMode: 'mxfp4_mxfp8', logitsDtype: 'float32', biasDtype: 'none',
    routing: { method: 'renormalize' }, activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 },
  },
  'llama4-maverick': {
    ...full(128), topK: 1, H: 5120, I: 8192, quantMode: 'nvfp4', logitsDtype: 'float32', biasDtype: 'none',
    routing: { method: 'llama4' }, activation: { kind: 'swiglu' },
  },
  'mixtral-8x7b': {
    ...full(8), topK: 2, H: 4096, I: 14336, quantMode: 'nvfp4', logitsDtype: 'float32', biasDtype: 'none',
    routing: { method: 'renormalize_naive' }, activation: { kind: 'swiglu' },
  },
} as const satisfies Record<string, ConfigTemplate>;

export type ConfigName = keyof typeof CONFIGS;
export const CONFIG_NAMES = Object.keys(CONFIGS) as ConfigName[];

function isConfigName(name: string): name is ConfigName {
  return Object.prototype.hasOwnProperty.call(CONFIGS, name);
}

/** The Problem of a named SPEC §6 configuration at T tokens. */
export function configProblem(name: string, T: number, overrides: Partial<Problem> = {}): Problem {
  if (!isConfigName(name)) {
    throw new BadArgumentError('config', `one of ${CONFIG_NAMES.join(', ')}`, JSON.stringify(name));
  }
  if (!Number.isInteger(T) || T < 1) throw new BadArgumentError('T', 'an integer >= 1', String(T));
  return { ...(CONFIGS[name] as ConfigTemplate), name, T, ...overrides };
}
