// The gradcheck benches' shared flag parser: values, switches, names and its errors.
import { benchArgs } from '../../../../bench/gradcheck/bench-args.ts';
import { FIXTURES_DIR } from '../../../support/fixtures.ts';

describe('benchArgs', () => {
  it('separates value flags, switches and fixture names', () => {
    const a = benchArgs(['--runs', '--threads'], ['tiny-sd', '--runs', '7', '--static', 'tiny-sd15topo']);
    expect(a.number('--runs', 20)).toBe(7);
    expect(a.number('--threads', 1)).toBe(1);
    expect(a.optionalNumber('--threads')).toBeUndefined();
    expect(a.has('--static')).toBe(true);
    expect(a.has('--quick')).toBe(false);
    expect(a.names).toEqual(['tiny-sd', 'tiny-sd15topo']);
  });

  it('reads --fixtures and defaults it to test/fixtures', () => {
    expect(benchArgs([], ['--fixtures', '/f', 'x']).fixtures).toBe('/f');
    expect(benchArgs([], []).fixtures).toBe(FIXTURES_DIR);
  });

  it('rejects a missing value and a value that is not a number at least the minimum', () => {
    expect(() => benchArgs(['--runs'], ['--runs'])).toThrow('--runs needs a value');
    expect(() => benchArgs(['--runs'], ['--runs', '--static'])).toThrow('--runs needs a value');
    expect(() => benchArgs(['--runs'], ['--runs', 'ten']).number('--runs', 1)).toThrow(
      "--runs must be a number ≥ 1, got 'ten'",
    );
    expect(() => benchArgs(['--runs'], ['--runs', '0']).number('--runs', 1)).toThrow('≥ 1');
    expect(benchArgs(['--top'], ['--top', '0']).number('--top', 25, 0)).toBe(0);
    expect(() => benchArgs(['--top'], ['--top', '-1']).number('--top', 25, 0)).toThrow('≥ 0');
  });
});
