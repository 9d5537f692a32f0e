// Command-line flags shared by the gradcheck benches: `--flag value` pairs, bare `--switch`es and fixture names,
// with one clear error for a value flag missing its value or a number flag given something else.
import { FIXTURES_DIR } from '../../test/support/fixtures.ts';

export interface BenchArgs {
  /** The value after `flag`, or undefined when the flag is absent. */
  value(flag: string): string | undefined;
  /** A number ≥ min (default 1) after `flag` (fallback when absent); throws on anything else. */
  number(flag: string, fallback: number, min?: number): number;
  /** Like `number` but undefined when absent. */
  optionalNumber(flag: string, min?: number): number | undefined;
  /** Whether a bare switch (e.g. `--static`) is present. */
  has(flag: string): boolean;
  /** The words that are neither flags nor a value flag's value (fixture names). */
  readonly names: readonly string[];
  /** `--fixtures DIR`, default test/fixtures in the package. */
  readonly fixtures: string;
}

/** Parses `argv` knowing which flags take a value (`--fixtures` always does). */
export function benchArgs(valueFlags: readonly string[], argv = process.argv.slice(2)): BenchArgs {
  const takesValue = new Set([...valueFlags, '--fixtures']);
  const values = new Map<string, string>();
  const switches = new Set<string>();
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (!word.startsWith('--')) {
      names.push(word);
      continue;
    }
    if (!takesValue.has(word)) {
      switches.add(word);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) throw new Error(`${word} needs a value`);
    values.set(word, next);
    i++;
  }
  const optionalNumber = (flag: string, min = 1): number | undefined => {
    const raw = values.get(flag);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min) {
      throw new Error(`${flag} must be a number ≥ ${min}, got '${raw}'`);
    }
    return n;
  };
  return {
    value: (flag) => values.get(flag),
    number: (flag, fallback, min) => optionalNumber(flag, min) ?? fallback,
    optionalNumber,
    has: (flag) => switches.has(flag),
    names,
    fixtures: values.get('--fixtures') ?? FIXTURES_DIR,
  };
}
