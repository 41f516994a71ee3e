/**
 * Command-line parsing for moe-harness: `--name value` or `--name=value`, typed and
 * validated; every error names the option, what was expected and what was given
 * (BadArgumentError).
 */
import { BadArgumentError } from '../reference/errors.js';

export type OptionKind = 'string' | 'int' | 'flag' | 'list' | 'intlist' | 'number';

export interface OptionSpec {
  readonly kind: OptionKind;
  readonly help: string;
  /** Allowed values (string, list). */
  readonly choices?: readonly string[];
  readonly min?: number;
}

export type ParsedValue = string | number | boolean | string[] | number[];

export interface Parsed {
  readonly options: Record<string, ParsedValue>;
  readonly positionals: string[];
}

function parseInt10(opt: string, text: string, min: number | undefined): number {
  const v = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || (min !== undefined && v < min)) {
    throw new BadArgumentError(`--${opt}`, `an integer${min !== undefined ? ` >= ${min}` : ''}`, JSON.stringify(text));
  }
  return v;
}

function convert(opt: string, spec: OptionSpec, text: string): ParsedValue {
  switch (spec.kind) {
    case 'int':
      return parseInt10(opt, text, spec.min);
    case 'number': {
      const v = Number(text);
      if (text.trim() === '' || !Number.isFinite(v) || (spec.min !== undefined && v < spec.min)) {
        throw new BadArgumentError(`--${opt}`, `a number${spec.min !== undefined ? ` >= ${spec.min}` : ''}`, JSON.stringify(text));
      }
      return v;
    }
    case 'intlist':
      return text.split(',').map((s) => parseInt10(opt, s, spec.min));
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
      if (text !== 'true' && text !== 'false') throw new BadArgumentError(`--${opt}`, 'no value (a flag), or =true / =false', JSON.stringify(text));
      return text === 'true';
  }
}

export function parseArgs(argv: readonly string[], specs: Readonly<Record<string, OptionSpec>>): Parsed {
  const options: Record<string, ParsedValue> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const spec = specs[name];
    if (spec === undefined) {
      throw new BadArgumentError('option', `one of ${Object.keys(specs).map((k) => `--${k}`).join(', ')}`, JSON.stringify(a));
    }
    let text: string;
    if (eq >= 0) text = a.slice(eq + 1);
    else if (spec.kind === 'flag') text = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new BadArgumentError(`--${name}`, `a value (${spec.help})`, 'nothing');
      text = next;
      i++;
    }
    options[name] = convert(name, spec, text);
  }
  return { options, positionals };
}

/** Help text for a set of options. */
export function optionsHelp(specs: Readonly<Record<string, OptionSpec>>): string {
  const w = Math.max(...Object.keys(specs).map((k) => k.length)) + 4;
  return Object.entries(specs).map(([k, s]) => `  --${k.padEnd(w - 2)}${s.help}${s.choices && s.kind !== 'flag' ? ` (${s.choices.join(' | ')})` : ''}`).join('\n');
}
