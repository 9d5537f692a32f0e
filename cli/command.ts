// The shape every `plateau` subcommand has (a name, a one-line summary for --help, and a run function that gets
// its own arguments and the output streams and returns the exit code), and the one argument parser they all use.
import { type ParseArgsConfig, parseArgs } from 'node:util';

export interface CliIo {
  readonly version: string;
  /**
   * The package's own folder (models/, examples/, trainer-image/): bin/plateau.js passes its location, so every
   * command finds the project's files from any working directory. Tests that call main() directly may leave it out.
   */
  readonly root?: string;
  readonly out: { write(chunk: string): unknown };
  readonly err: { write(chunk: string): unknown };
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Thrown for bad command-line input: printed as one line with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

/**
 * node:util parseArgs, strict (an unknown option or a missing value is refused), with positionals only where the
 * command takes them; its errors become usage errors.
 */
export function parseCommandArgs(
  args: readonly string[],
  options: OptionSpec,
  { positionals = false }: { readonly positionals?: boolean } = {},
): { readonly values: OptionValues; readonly positionals: readonly string[] } {
  try {
    const parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: positionals });
    return { values: parsed.values as OptionValues, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError(usageMessage(error instanceof Error ? error.message : String(error)));
  }
}

/** parseArgs' message as one line; a missing value reads the same whichever way it went missing. */
function usageMessage(raw: string): string {
  // Under some hosts (jest's sandbox) node's own errors carry their name and code in the message.
  const text = raw.replace(/^\w*Error \[\w+\]: /, '');
  const missing = /^Option '(--[\w-]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec(text)?.[1];
  if (missing) return `${missing} needs a value (one that starts with a dash is written ${missing}=-1)`;
  return text.replace(/\s*\n\s*/g, ' ');
}

/** parseCommandArgs for commands without positionals: just the values. */
export function parseOptions(args: readonly string[], options: OptionSpec): OptionValues {
  return parseCommandArgs(args, options).values;
}

export const stringOption = (values: OptionValues, name: string): string | undefined => {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
};

/** A number option's value, parsed; a non-number is a usage error naming the option. */
export function numberOption(values: OptionValues, name: string): number | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new UsageError(`--${name} must be a number (got '${text}')`);
  }
  return value;
}

/**
 * A command's own number option (not a job.json field, whose limits are the manifest's): an integer or any
 * number from `min` up to `max`, else a usage error naming the option and the range.
 */
export function boundedOption(
  values: OptionValues,
  name: string,
  limits: {
    readonly integer?: boolean;
    readonly min: number;
    readonly max?: number;
    readonly above?: boolean;
  },
): number | undefined {
  const value = numberOption(values, name);
  if (value === undefined) return undefined;
  const { integer = false, min, max = Number.POSITIVE_INFINITY, above = false } = limits;
  const ok =
    (integer ? Number.isInteger(value) : true) && (above ? value > min : value >= min) && value <= max;
  if (!ok) {
    const kind = integer ? 'an integer' : 'a number';
    const range = `${above ? '>' : '>='} ${min}${Number.isFinite(max) ? ` and <= ${max}` : ''}`;
    const positive = integer && min === 1 && !above && !Number.isFinite(max);
    const what = positive ? 'a positive integer' : `${kind} ${range}`;
    throw new UsageError(`--${name} must be ${what} (got '${stringOption(values, name)}')`);
  }
  return value;
}
