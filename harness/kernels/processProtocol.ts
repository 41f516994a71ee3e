/**
 * The process protocol's constants and answer checks (docs/process-protocol.md is the
 * contract; this file is its harness side). Version 1.
 */
import { parseConventions } from '../../reference/conventions.js';
import { QUANT_MODES, ROUTING_METHODS, type QuantMode, type RoutingMethodName } from '../../reference/problem.js';
import { AdapterError } from './adapterError.js';
import type { ProviderDescription, Tactic, TacticList, UnavailableTactic } from './provider.js';

/** Protocol versions this harness speaks (the handshake picks one the adapter also speaks). */
export const PROTOCOL_VERSIONS = [1] as const;

/** Tensor names of a run's output file. */
export const OUTPUT_TENSORS = { output: 'output', ids: 'ids', weights: 'weights' } as const;

function fieldError(adapter: string, op: string, field: string, expected: string, actual: unknown): AdapterError {
  return new AdapterError(adapter, `answered ${op} with ${field} = ${JSON.stringify(actual)?.slice(0, 100)}, expected ${expected}`);
}

/** The handshake answer's description (conventions parsed; unknown modes refused). */
export function parseDescription(adapter: string, raw: unknown): Omit<ProviderDescription, 'name'> & { name: string } {
  if (typeof raw !== 'object' || raw === null) throw fieldError(adapter, 'hello', 'describe', 'an object', raw);
  const d = raw as Record<string, unknown>;
  const str = (k: string): string => {
    if (typeof d[k] !== 'string') throw fieldError(adapter, 'hello', `describe.${k}`, 'a string', d[k]);
    return d[k] as string;
  };
  const list = <T extends string>(k: string, allowed: readonly T[]): T[] => {
    const v = d[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && (allowed as readonly string[]).includes(x))) {
      throw fieldError(adapter, 'hello', `describe.${k}`, `an array of ${allowed.join(', ')}`, v);
    }
    return v as T[];
  };
  let conventions;
  try {
    conventions = parseConventions(d.conventions, 'describe.conventions');
  } catch (e) {
    throw new AdapterError(adapter, `declared conventions the harness does not know: ${(e as Error).message}`);
  }
  return {
    name: str('name'), version: str('version'), device: str('device'),
    quantModes: list<QuantMode>('quantModes', QUANT_MODES), routingMethods: list<RoutingMethodName>('routingMethods', ROUTING_METHODS),
    conventions,
  };
}

/** A tactics answer as a TacticList; labels must be unique non-empty strings. */
export function parseTacticList(adapter: string, answer: Record<string, unknown>): TacticList {
  const raw = answer.tactics;
  if (!Array.isArray(raw)) throw fieldError(adapter, 'tactics', 'tactics', 'an array', raw);
  const seen = new Set<string>();
  const tactics: Tactic[] = raw.map((t, i) => {
    const o = t as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.label !== 'string' || o.label === '' || seen.has(o.label)) {
      throw fieldError(adapter, 'tactics', `tactics[${i}]`, 'an object with a unique non-empty "label"', t);
    }
    seen.add(o.label);
    const num = (v: unknown): number => (Number.isSafeInteger(v) ? (v as number) : -1);
    return { label: o.label, tileTokens: num(o.tileTokens), config: num(o.config) };
  });
  const un = answer.unavailable ?? [];
  if (!Array.isArray(un)) throw fieldError(adapter, 'tactics', 'unavailable', 'an array', un);
  const unavailable: UnavailableTactic[] = un.map((t, i) => {
    const o = t as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.label !== 'string' || typeof o.reason !== 'string') {
      throw fieldError(adapter, 'tactics', `unavailable[${i}]`, 'an object with string "label" and "reason"', t);
    }
    return { label: o.label, reason: o.reason };
  });
  return { tactics, unavailable };
}
