// SampleSink that appends one JSON line per sample to a file (standalone `plateau train`). Opening it for a
// resumed run drops the lines at or after the resume step, so rewritten steps replace instead of duplicating
// (the same keyed-by-step contract the DynamoDB sink has).
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LossSample, SampleSink } from '../ports.ts';

export class JsonlSampleSink implements SampleSink {
  private pending: string[] = [];
  readonly path: string;

  private constructor(path: string) {
    this.path = path;
  }

  /** Opens `path`, keeping only existing samples with step < `fromStep` (0 starts a fresh file). */
  static async open(path: string, fromStep = 0): Promise<JsonlSampleSink> {
    await mkdir(dirname(path), { recursive: true });
    let kept: string[] = [];
    if (fromStep > 0) {
      let text = '';
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      kept = text.split('\n').filter((line) => {
        if (line.trim() === '') return false;
        const step = stepOf(line);
        return step !== undefined && step < fromStep;
      });
    }
    const temporary = `${path}.partial-${process.pid}`;
    await writeFile(temporary, kept.map((line) => `${line}\n`).join(''));
    await rename(temporary, path);
    return new JsonlSampleSink(path);
  }

  async write(sample: LossSample): Promise<void> {
    this.pending.push(`${JSON.stringify(sample)}\n`);
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    await appendFile(this.path, chunk);
  }
}

function stepOf(line: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'step' in parsed &&
      typeof parsed.step === 'number'
    ) {
      return parsed.step;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Reads a samples file written by JsonlSampleSink (for reports and tests). */
export async function readJsonlSamples(path: string): Promise<LossSample[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const parsed: unknown = JSON.parse(line);
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        !('step' in parsed) ||
        typeof parsed.step !== 'number' ||
        !('trainLoss' in parsed) ||
        typeof parsed.trainLoss !== 'number' ||
        !('lr' in parsed) ||
        typeof parsed.lr !== 'number' ||
        !('wallTimeMs' in parsed) ||
        typeof parsed.wallTimeMs !== 'number'
      ) {
        throw new Error(`${path}:${i + 1}: not a loss sample`);
      }
      const detLoss = 'detLoss' in parsed && typeof parsed.detLoss === 'number' ? parsed.detLoss : undefined;
      const base = {
        step: parsed.step,
        trainLoss: parsed.trainLoss,
        lr: parsed.lr,
        wallTimeMs: parsed.wallTimeMs,
      };
      return detLoss === undefined ? base : { ...base, detLoss };
    });
}
