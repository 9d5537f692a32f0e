// The command line's own behaviour: help, version, unknown commands, and the honest `start` placeholder.
import { execFileSync } from 'node:child_process';
import type { CliIo } from '../../../cli/command.ts';
import { main } from '../../../cli/main.ts';

function capture(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    version: '9.9.9',
    out: { write: (s: string) => (out += s) },
    err: { write: (s: string) => (err += s) },
    stdout: () => out,
    stderr: () => err,
  };
}

describe('plateau cli', () => {
  it('prints help listing the commands', async () => {
    const io = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout()).toContain('Usage: plateau <command>');
    expect(io.stdout()).toContain('start');
  });

  it('prints the version', async () => {
    const io = capture();
    expect(await main(['--version'], io)).toBe(0);
    expect(io.stdout()).toBe('9.9.9\n');
  });

  it('rejects an unknown command with exit code 2', async () => {
    const io = capture();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(io.stderr()).toContain("unknown command 'frobnicate'");
  });
});

describe('plateau binary', () => {
  it('runs under this Node and prints the package version', () => {
    const version = execFileSync(process.execPath, ['bin/plateau.js', '--version'], {
      encoding: 'utf8',
    }).trim();
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
