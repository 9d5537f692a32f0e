// `plateau dvar` through cli/main.ts's main() with captured streams: human and --json output, defaults,
// and clear errors for a missing file, a bad line, an unknown format and bad options.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../../../../cli/command.ts';
import { main } from '../../../../cli/main.ts';
import { findCriterionIndex } from '../../../../shared/dvar.ts';
import { METHOD_DEFAULTS } from '../../../../shared/methods.ts';

const TI = METHOD_DEFAULTS['textual-inversion'];

function capture(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    version: '0.0.0',
    out: { write: (s: string) => (out += s) },
    err: { write: (s: string) => (err += s) },
    stdout: () => out,
    stderr: () => err,
  };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plateau-dvar-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Decays then flattens, with a deterministic wiggle; evaluated every 2 steps (odd steps lack detLoss). */
const losses = Array.from({ length: 400 }, (_, i) => 0.1 + Math.exp(-i / 30) + 1e-3 * Math.sin(i * 1.7));

function jsonl(): string {
  const lines: string[] = [];
  losses.forEach((loss, i) => {
    lines.push(JSON.stringify({ step: 2 * i, detLoss: loss, trainLoss: loss, lr: 0.01, wallTimeMs: i }));
    lines.push(JSON.stringify({ step: 2 * i + 1, trainLoss: loss, lr: 0.01, wallTimeMs: i }));
  });
  return `${lines.join('\n')}\n`;
}

describe('plateau dvar', () => {
  it('prints one JSON line with the criterion step mapped from the sample index', async () => {
    const path = file('h.jsonl', jsonl());
    const io = capture();
    expect(
      await main(['dvar', '--history', path, '--window', '50', '--threshold', '0.15', '--json'], io),
    ).toBe(0);
    const index = findCriterionIndex(losses, { window: 50, threshold: 0.15 });
    expect(index).not.toBeNull();
    const lines = io.stdout().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const result = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['criterionStep', 'samples', 'window', 'threshold', 'finalRatio']);
    expect(result.criterionStep).toBe(2 * index!);
    expect(result.samples).toBe(400);
    expect(result.window).toBe(50);
    expect(result.threshold).toBe(0.15);
    expect(result.finalRatio).toEqual(expect.any(Number));
    expect(result.finalRatio as number).toBeLessThan(0.15);
    expect(io.stderr()).toBe('');
  });

  it('prints human text for a CSV and uses the textual-inversion defaults', async () => {
    const path = file('h.csv', `step,loss\n${losses.map((l, i) => `${i},${l}`).join('\n')}\n`);
    const io = capture();
    expect(await main(['dvar', '--history', path, '--window', '50'], io)).toBe(0);
    const index = findCriterionIndex(losses, { window: 50, threshold: TI.threshold })!;
    expect(io.stdout()).toMatch(
      new RegExp(
        `^DVAR \\(window 50, threshold ${TI.threshold}\\) first held at step ${index}: ratio 0\\.\\d+ after ${index + 1} of 400 samples`,
      ),
    );

    const defaults = capture();
    expect(await main(['dvar', '--history', path, '--json'], defaults)).toBe(0);
    expect(JSON.parse(defaults.stdout())).toMatchObject({
      criterionStep: findCriterionIndex(losses, { window: TI.window, threshold: TI.threshold }),
      samples: 400,
      window: TI.window,
      threshold: TI.threshold,
    });
  });

  it('says when the criterion never held and writes a null final ratio for a short history', async () => {
    const path = file('short.csv', 'step,loss\n0,1\n1,0.5\n');
    const io = capture();
    expect(await main(['dvar', '--history', path, '--window', '5'], io)).toBe(0);
    expect(io.stdout()).toContain(
      'never held in 2 samples (final ratio undefined); fewer samples than the window',
    );
    const json = capture();
    expect(await main(['dvar', '--history', path, '--window', '5', '--json'], json)).toBe(0);
    expect(json.stdout()).toBe(
      `{"criterionStep":null,"samples":2,"window":5,"threshold":${TI.threshold},"finalRatio":null}\n`,
    );
  });

  it('fails clearly for a missing file, a bad line and an unknown format', async () => {
    const missing = capture();
    expect(await main(['dvar', '--history', join(dir, 'nope.jsonl')], missing)).toBe(1);
    expect(missing.stderr()).toMatch(/plateau dvar: cannot read history file '.*nope\.jsonl': no such file/);

    const badPath = file('bad.jsonl', '{"step":0,"detLoss":1}\n{"step":1,"detLoss":null}\n');
    const bad = capture();
    expect(await main(['dvar', '--history', badPath], bad)).toBe(1);
    expect(bad.stderr()).toContain('bad.jsonl:2: detLoss must be a finite number');

    const unknownPath = file('u.txt', 'hello world\n');
    const unknown = capture();
    expect(await main(['dvar', '--history', unknownPath], unknown)).toBe(1);
    expect(unknown.stderr()).toContain('unknown history format');
    expect(unknown.stdout()).toBe('');
  });

  it('rejects bad options with the usage and exit code 2', async () => {
    for (const args of [
      [],
      ['--history'],
      ['--history', 'x', '--window', '1'],
      ['--history', 'x', '--threshold', 'abc'],
      ['--bogus'],
    ]) {
      const io = capture();
      expect(await main(['dvar', ...args], io)).toBe(2);
      expect(io.stderr()).toContain('Usage: plateau dvar --history <file>');
    }
  });
});
