/**
 * ShapePattern: on which shapes a run fails — a property of the case (quant mode, routing
 * method, activation, logits dtype, logit and scale families, expert-parallel slice, T a
 * multiple of the smallest tile or not, grouped routing) that every failing case has, said
 * only when it separates them from passing cases: "every failing case is quant
 * mxfp4_mxfp8 (all 4 such cases fail; the other 20 pass)" — only when every case with that
 * value fails too (an exact separation; "4 of the 19 such cases" would say little). Needs at least
 * MIN_FAILING_CASES failing cases (one case has every property of its own), and nothing is
 * said when every case fails. Properties are a table keyed by name (CASE_PROPERTIES).
 */
import type { CaseSpec } from '../../reference/case.js';

const MIN_FAILING_CASES = 2;

/** Case properties by name: a case's value of it, as words. */
const CASE_PROPERTIES: Readonly<Record<string, (s: CaseSpec) => string>> = {
  'quant': (s) => s.problem.quantMode,
  'routing': (s) => s.problem.routing.method,
  'activation': (s) => (s.problem.activation.kind === 'swiglu_clamped' ? 'clamped SwiGLU' : 'plain SwiGLU'),
  'logits dtype': (s) => s.problem.logitsDtype,
  'logit family': (s) => s.logitFamily,
  'scale family': (s) => s.scaleFamily,
  'experts': (s) => (s.problem.localExperts === s.problem.E && s.problem.localOffset === 0 ? 'all local' : 'an expert-parallel slice'),
  'T': (s) => (s.problem.T % 8 === 0 ? 'a multiple of 8' : 'not a multiple of 8 (partial tiles)'),
  'groups': (s) => ((s.problem.routing.nGroup ?? 1) > 1 ? 'grouped routing' : 'no expert groups'),
};

export interface ShapeStatement {
  readonly property: string;
  readonly value: string;
  /** Cases with that value, and how many of them fail. */
  readonly withValue: number;
  readonly failing: number;
  readonly text: string;
}

/**
 * What separates the failing cases: properties whose value is the same on every failing
 * case and on no passing case. At most `max` statements, in table order.
 */
export function shapePattern(cases: ReadonlyMap<number, CaseSpec>, failing: ReadonlySet<number>, max = 2): ShapeStatement[] {
  const all = [...cases.keys()];
  if (failing.size < MIN_FAILING_CASES || failing.size === all.length) return [];
  const out: ShapeStatement[] = [];
  for (const [property, of] of Object.entries(CASE_PROPERTIES)) {
    const values = new Set([...failing].map((i) => of(cases.get(i)!)));
    if (values.size !== 1) continue;
    const value = [...values][0]!;
    const withValue = all.filter((i) => of(cases.get(i)!) === value).length;
    if (withValue !== failing.size) continue;
    const others = all.length - withValue;
    out.push({
      property, value, withValue, failing: failing.size,
      text: `every failing case has ${property} ${value}, and every case with it fails (${withValue} cases; the other ${others} case${others === 1 ? '' : 's'} pass${others === 1 ? 'es' : ''})`,
    });
  }
  return out.slice(0, max);
}
