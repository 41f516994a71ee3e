/**
 * Command-line parsing for moe-harness. Tokenizing is node:util `parseArgs` in strict mode
 * (unknown options, stray positional words, a missing value, a value given to a flag: all
 * refused); this file adds the typed value checks. Every error is a BadArgumentError that
 * names the option, what was expected and what was given.
 *
 * Options are declared once, in one table (OptionTable: name → OptionSpec, each listing
 * the commands that accept it); `parseArgs(argv, table, command)` parses one command's
 * arguments and `optionsHelp(table, command)` prints its help.
 */
import { parseArgs as nodeParseArgs } from 'node:util';
import { BadArgumentError } from '../reference/errors.js';

export type OptionKind = 'string' | 'int' | 'flag' | 'list' | 'intlist' | 'number';

/**
 * What `--resume DIR` does with an option: 'must_match' (it shapes the records: a resume
 * given another value is refused, naming the option), 'free' (it may differ, e.g. --quiet).
 */
export type ResumeRule = 'must_match' | 'free';

export interface OptionSpec {
  readonly kind: OptionKind;
  readonly help: string;
  /** Commands that accept the option. */
  readonly commands: readonly string[];
  /** Allowed values (string, list). */
  readonly choices?: readonly string[];
  /** Bounds of int, intlist and number values (inclusive). */
  readonly min?: number;
  readonly max?: number;
  /** A one-letter alias, e.g. 'h' for -h. */
  readonly short?: string;
  /** Default 'must_match'. */
  readonly resume?: ResumeRule;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

export type ParsedValue = string | number | boolean | string[] | number[];

/** The choices of a spec as a union type, or string when it has none. */
type ChoiceOf<S extends OptionSpec> = S extends { readonly choices: readonly (infer C extends string)[] } ? C : string;

/**
 * The value an option parses to, read off its spec: the option table is the one place an
 * option is typed (declare it `as const satisfies OptionTable`), so no caller casts a value.
 */
export type OptionValue<S extends OptionSpec> =
  S['kind'] extends 'int' | 'number' ? number
    : S['kind'] extends 'intlist' ? number[]
      : S['kind'] extends 'flag' ? boolean
        : S['kind'] extends 'list' ? ChoiceOf<S>[]
          : ChoiceOf<S>;

/** Parsed options of a table: an option not given is absent. */
export type OptionValues<T extends OptionTable> = { [K in keyof T]?: OptionValue<T[K]> };

export interface Parsed<T extends OptionTable = OptionTable> {
  readonly options: OptionValues<T>;
  /** Words that are not options (only for commands parsed with positionals 'allowed'). */
  readonly positionals: readonly string[];
}

function bounds(spec: OptionSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return ` in [${spec.min}, ${spec.max}]`;
  if (spec.min !== undefined) return ` >= ${spec.min}`;
  if (spec.max !== undefined) return ` <= ${spec.max}`;
  return '';
}

function inBounds(v: number, spec: OptionSpec): boolean {
  return (spec.min === undefined || v >= spec.min) && (spec.max === undefined || v <= spec.max);
}

function parseInt10(opt: string, spec: OptionSpec, text: string): number {
  const v = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || !inBounds(v, spec)) {
    throw new BadArgumentError(`--${opt}`, `an integer${bounds(spec)}`, JSON.stringify(text));
  }
  return v;
}

function convert(opt: string, spec: OptionSpec, text: string): ParsedValue {
  switch (spec.kind) {
    case 'int':
      return parseInt10(opt, spec, text);
    case 'number': {
      const v = Number(text);
      if (text.trim() === '' || !Number.isFinite(v) || !inBounds(v, spec)) {
        throw new BadArgumentError(`--${opt}`, `a number${bounds(spec)}`, JSON.stringify(text));
      }
      return v;
    }
    case 'intlist':
      return text.split(',').map((s) => parseInt10(opt, spec, s));
    case 'list': {
      const items = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      if (items.length === 0) throw new BadArgumentError(`--${opt}`, 'a comma-separated list', JSON.stringify(text));
      if (spec.choices) {
        for (const it of items) {
          if (!spec.choices.includes(it)) throw new BadArgumentError(`--${opt}`, `values from ${spec.choices.join(', ')}`, JSON.stringify(it));
        }
      }
      return items;
    }
    case 'string':
      if (spec.choices && !spec.choices.includes(text)) throw new BadArgumentError(`--${opt}`, `one of ${spec.choices.join(', ')}`, JSON.stringify(text));
      return text;
    case 'flag':
      return true;
  }
}

/** The options of `table` that `command` accepts. */
function commandOptions(table: OptionTable, command: string): Array<[string, OptionSpec]> {
  return Object.entries(table).filter(([, s]) => s.commands.includes(command));
}

/** node:util parseArgs's errors as BadArgumentError naming the option. */
function translate(e: unknown, names: readonly string[], command: string): never {
  const err = e as { code?: string; message?: string };
  const msg = String(err.message ?? e);
  const quoted = /'([^']*)'/.exec(msg)?.[1] ?? '';
  const option = quoted.replace(/ <value>$/, '').replace(/^-\w, /, '');
  const known = `one of ${names.map((n) => `--${n}`).join(', ')}`;
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      throw new BadArgumentError('option', `${known} (options of ${command})`, JSON.stringify(quoted));
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      throw new BadArgumentError('argument', `only --options after "${command}" (no positional words)`, JSON.stringify(quoted));
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(msg)) throw new BadArgumentError(option, 'no value (a flag)', msg);
      if (/ambiguous/.test(msg)) throw new BadArgumentError(option, `a value (write ${option}=VALUE for a value starting with a dash)`, 'another option or a dash-word');
      throw new BadArgumentError(option, 'a value', 'nothing');
    default:
      throw e;
  }
}

/**
 * Parse `command`'s arguments against the table: strict, typed, each option at most once.
 * `positionals: 'allowed'` for a command that takes words (e.g. `merge DIR...`); refused otherwise.
 */
export function parseArgs<T extends OptionTable>(argv: readonly string[], table: T, command: string, positionals: 'allowed' | 'refused' = 'refused'): Parsed<T> {
  const accepted = commandOptions(table, command);
  const config: Record<string, { type: 'string' | 'boolean'; multiple: true; short?: string }> = {};
  for (const [name, s] of accepted) {
    config[name] = { type: s.kind === 'flag' ? 'boolean' : 'string', multiple: true, ...(s.short ? { short: s.short } : {}) };
  }
  let values: Record<string, Array<string | boolean> | undefined>;
  let words: string[] = [];
  try {
    const r = nodeParseArgs({ args: [...argv], options: config, strict: true, allowPositionals: positionals === 'allowed' });
    values = r.values as typeof values;
    words = r.positionals;
  } catch (e) {
    translate(e, accepted.map(([n]) => n), command);
  }
  const options: Record<string, ParsedValue> = {};
  for (const [name, s] of accepted) {
    const v = values[name];
    if (v === undefined) continue;
    if (v.length > 1 && s.kind !== 'flag') {
      throw new BadArgumentError(`--${name}`, 'at most once (lists are comma-separated)', `${v.length} times: ${v.map((x) => JSON.stringify(x)).join(', ')}`);
    }
    options[name] = convert(name, s, String(v[v.length - 1]));
  }
  // convert() checked each value against its spec (kind, choices, bounds): the table's types hold.
  return { options: options as OptionValues<T>, positionals: words };
}

/** Help text for one command's options. */
export function optionsHelp(table: OptionTable, command: string): string {
  const rows = commandOptions(table, command);
  const w = Math.max(...rows.map(([k]) => k.length)) + 4;
  return rows.map(([k, s]) => {
    const name = `${s.short ? `-${s.short}, ` : ''}--${k}`;
    const range = (s.kind === 'int' || s.kind === 'intlist' || s.kind === 'number') && s.max !== undefined ? ` [${s.min ?? '-∞'}, ${s.max}]` : '';
    return `  ${name.padEnd(w + 4)}${s.help}${s.choices && s.kind !== 'flag' ? ` (${s.choices.join(' | ')})` : ''}${range}`;
  }).join('\n');
}
