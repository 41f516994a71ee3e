/**
 * The reference for a case, as the campaign asks for it: the fast path (float32) by
 * default, the FC1 fragility window from the error model, optionally with forced ids;
 * results cached by case (and ids) so a campaign never computes the same reference twice.
 */
import { createHash } from 'node:crypto';
import type { Case, CaseSpec } from '../reference/case.js';
import type { Expected } from '../reference/expected.js';
import { runReference } from '../reference/moe.js';
import type { ErrorModel } from './errorModel.js';
import { DEFAULT_CONVENTIONS, describeConventions, type Conventions } from '../reference/conventions.js';

export type ReferencePrecision = 'float32' | 'float64';

/** A cache of references keyed by case spec, window, precision and forced ids. */
export type ReferenceCache = Map<string, Promise<Expected>>;

function key(spec: CaseSpec, model: ErrorModel, precision: ReferencePrecision, conventions: Conventions, forcedIds?: Int32Array): string {
  const ids = forcedIds ? createHash('sha256').update(new Uint8Array(forcedIds.buffer, forcedIds.byteOffset, forcedIds.byteLength)).digest('hex') : '-';
  return `${JSON.stringify(spec)}|${model.fc1RelativeError}|${precision}|${describeConventions(conventions)}|${ids}`;
}

export function referenceFor(
  c: Case, model: ErrorModel,
  opts: { precision?: ReferencePrecision; forcedIds?: Int32Array; cache?: ReferenceCache; conventions?: Conventions } = {},
): Promise<Expected> {
  const precision = opts.precision ?? 'float32';
  const conventions = opts.conventions ?? DEFAULT_CONVENTIONS;
  const k = key(c.spec, model, precision, conventions, opts.forcedIds);
  const hit = opts.cache?.get(k);
  if (hit) return hit;
  const p = runReference(c, {
    precision, fc1RelativeError: model.fc1RelativeError, conventions,
    ...(opts.forcedIds !== undefined ? { forcedIds: opts.forcedIds } : {}),
  });
  opts.cache?.set(k, p);
  p.catch(() => opts.cache?.delete(k));
  return p;
}
