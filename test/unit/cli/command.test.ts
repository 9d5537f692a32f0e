// The one argument parser every command uses: parseArgs' errors as one-line usage errors (a missing value reads
// the same however it went missing), and the bounded numbers of a command's own options.
import { boundedOption, parseCommandArgs, parseOptions, UsageError } from '../../../cli/command.ts';

const OPTIONS = { runs: { type: 'string' }, json: { type: 'boolean' } } as const;

describe('parseCommandArgs', () => {
  it.each([
    [['--runs'], '--runs needs a value (one that starts with a dash is written --runs=-1)'],
    [['--runs', '--json'], '--runs needs a value (one that starts with a dash is written --runs=-1)'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['x'], "Unexpected argument 'x'. This command does not take positional arguments"],
  ])('%j is a usage error: %s', (args, message) => {
    expect(() => parseOptions(args, OPTIONS)).toThrow(new UsageError(message));
  });

  it('takes positionals only where the command does', () => {
    expect(parseCommandArgs(['job-1', '--json'], OPTIONS, { positionals: true })).toEqual({
      values: expect.objectContaining({ json: true }),
      positionals: ['job-1'],
    });
    expect(parseOptions(['--runs=-3'], OPTIONS)).toMatchObject({ runs: '-3' });
  });
});

describe('boundedOption', () => {
  const value = (text: string, limits: Parameters<typeof boundedOption>[2]) =>
    boundedOption(parseOptions([`--runs=${text}`], OPTIONS), 'runs', limits);

  it('parses numbers within the limits, and is undefined when unset', () => {
    expect(value('3', { integer: true, min: 1 })).toBe(3);
    expect(value('0.5', { min: 0, above: true })).toBe(0.5);
    expect(boundedOption({}, 'runs', { min: 0 })).toBeUndefined();
  });

  it.each([
    ['0', { integer: true, min: 1 }, "--runs must be a positive integer (got '0')"],
    ['1.5', { integer: true, min: 1 }, "--runs must be a positive integer (got '1.5')"],
    ['0', { min: 0, above: true }, "--runs must be a number > 0 (got '0')"],
    [
      '70000',
      { integer: true, min: 1, max: 65535 },
      "--runs must be an integer >= 1 and <= 65535 (got '70000')",
    ],
    ['abc', { min: 0 }, "--runs must be a number (got 'abc')"],
    [' ', { min: 0 }, "--runs must be a number (got ' ')"],
  ])('%j with %j: %s', (text, limits, message) => {
    expect(() => value(text, limits)).toThrow(new UsageError(message));
  });
});
