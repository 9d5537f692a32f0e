// `npm start` as a user runs it: the bundled example concept through the embedded pipeline on the embedded base
// model, stopped by DVAR, with validation samples whose concept similarity beats the initializer word's.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('plateau start', () => {
  it('learns the example concept and stops by DVAR', () => {
    const out = mkdtempSync(join(tmpdir(), 'plateau-start-'));
    try {
      const result = spawnSync(process.execPath, ['bin/plateau.js', 'start', '--json', '--out', out], {
        encoding: 'utf8',
        timeout: 300_000,
      });
      expect(result.stderr).toContain('criterion held at step');
      expect(result.status).toBe(0);
      const lines = result.stdout.trim().split('\n');
      const summary = JSON.parse(lines[0] ?? '{}') as {
        status: string;
        stopReason: string;
        criterionStep: number;
        lastStep: number;
        outDir: string;
      };
      expect(summary.status).toBe('SUCCEEDED');
      expect(summary.stopReason).toBe('criterion');
      // Stop latency depends on machine load; its target is checked by bench/monitor-latency.ts, not here.
      expect(summary.lastStep).toBeGreaterThanOrEqual(summary.criterionStep);
      expect(existsSync(join(summary.outDir, '<checkered-gem>.safetensors'))).toBe(true);
      const validation = JSON.parse(
        readFileSync(join(summary.outDir, 'samples', 'validation.json'), 'utf8'),
      ) as {
        learnedSimilarity: number;
        initializerSimilarity: number;
      };
      expect(validation.learnedSimilarity).toBeGreaterThan(validation.initializerSimilarity);
      expect(existsSync(join(summary.outDir, 'samples', 'grid.png'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 360_000);
});
