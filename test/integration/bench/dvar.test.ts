// CI smoke test of the DVAR benchmark: `node bench/dvar/main.ts --quick` on the committed base model and
// classifier (a random-init model from the builder stands in while models/plateau-world-32 is not committed);
// checks the JSON's structure and sanity (steps > 0, speedups ≥ 1, qualities in range) and the files it writes.
// About 1–2 minutes on 2 cores.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { pretrainForwardModel } from '../../../models/src/builder/components.ts';
import { baseModelConfig } from '../../../models/src/builder/config.ts';
import { initialWeights } from '../../../models/src/builder/model-graph.ts';
import { writeModelPackage } from '../../../models/src/builder/write-package.ts';
import { vocabulary } from '../../../models/src/world/captions.ts';

const run = promisify(execFile);
const root = process.cwd();
const COMMITTED_MODEL = join(root, 'models', 'plateau-world-32');

/** The committed base model, or the same architecture at random init written under `dir`. */
function baseModel(dir: string): string {
  if (existsSync(join(COMMITTED_MODEL, 'model_index.json'))) return COMMITTED_MODEL;
  const vocab = vocabulary();
  const config = baseModelConfig(vocab.length, 'default');
  const model = join(dir, 'model');
  writeModelPackage(model, config, initialWeights(pretrainForwardModel(config).params, 1), vocab);
  return model;
}

const SpreadSchema = z.object({
  median: z.number(),
  q1: z.number(),
  q3: z.number(),
  iqr: z.number(),
  n: z.number(),
});
const Method = z.object({
  method: z.string(),
  steps: z.number().int().positive(),
  criterionStep: z.number().int().nonnegative().nullable(),
  evaluations: z.number().int().nonnegative(),
  seconds: z.number().positive(),
  costUsd: z.number().nonnegative(),
  overheadShare: z.number().nonnegative(),
  speedupSteps: z.number().min(1),
  speedupTime: z.number().positive(),
  quality: z.object({
    identity: z.number().min(-1).max(1),
    alignment: z.number().min(0).max(1),
    contextIdentity: z.number().min(-1).max(1),
  }),
  identityRatio: z.number().positive(),
  gainKept: z.number(),
});
const Result = z.object({
  benchmark: z.literal('dvar'),
  mode: z.literal('quick'),
  tuning: z.object({
    chosen: z.object({ window: z.number().int().min(2), threshold: z.number().positive() }),
    fewIterations: z.number().int().positive(),
  }),
  concepts: z
    .array(
      z.object({
        id: z.string(),
        cap: z.number().int().positive(),
        costs: z.object({
          trainMs: z.number().positive(),
          evalMs: z.number().positive(),
          checkMs: z.number().positive(),
        }),
        methods: z.array(Method),
        curve: z.array(z.object({ step: z.number().int(), identity: z.number() })).min(2),
      }),
    )
    .min(2)
    .max(3),
  summary: z.array(
    z.object({
      method: z.string(),
      steps: SpreadSchema,
      speedupSteps: SpreadSchema,
      identityRatio: SpreadSchema,
    }),
  ),
  evalEvery: z.object({
    rows: z.array(
      z.object({ evalEvery: z.number().int(), overheadShare: SpreadSchema, stopShift: SpreadSchema }),
    ),
    recommended: z.number().int(),
  }),
  goal: z.object({ met: z.boolean() }),
  wallSeconds: z.number().positive(),
});

const EXPECTED_METHODS = [
  'fixed',
  'dvar-paper',
  'dvar-tuned',
  'dvar-tuned-k2',
  'dvar-tuned-k4',
  'dvar-tuned-k8',
  'few-iterations',
  'sample-based',
];

describe('bench/dvar --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'plateau-bench-dvar-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('trains, replays every rule and reports sane figures', async () => {
    const model = baseModel(out);
    const args = ['bench/dvar/main.ts', '--quick', '--out', join(out, 'results'), '--model', model];
    const { stdout } = await run(process.execPath, args, {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });
    const lines = stdout.trim().split('\n');
    const result = Result.parse(JSON.parse(lines[lines.length - 1] ?? ''));

    for (const concept of result.concepts) {
      expect(concept.methods.map((m) => m.method)).toEqual(EXPECTED_METHODS);
      for (const m of concept.methods) {
        expect(m.steps).toBeLessThanOrEqual(concept.cap);
        if (m.criterionStep !== null && m.method.startsWith('dvar'))
          expect(m.steps).toBe(m.criterionStep + 1);
      }
      const fixed = concept.methods[0]!;
      expect([fixed.steps, fixed.speedupSteps, fixed.identityRatio, fixed.overheadShare]).toEqual([
        concept.cap,
        1,
        1,
        0,
      ]);
      // Checking less often can only make the criterion's own cost smaller.
      const overhead = EXPECTED_METHODS.slice(2, 6).map(
        (name) => concept.methods.find((m) => m.method === name)!,
      );
      expect(overhead[3]!.overheadShare).toBeLessThan(overhead[0]!.overheadShare);
      expect(concept.curve[0]!.step).toBe(0);
      expect(concept.curve[concept.curve.length - 1]!.step).toBe(concept.cap);
    }
    expect(result.summary.map((s) => s.method)).toEqual(EXPECTED_METHODS);
    expect(result.evalEvery.rows.map((r) => r.evalEvery)).toEqual([1, 2, 4, 8]);
    expect([1, 2, 4, 8]).toContain(result.evalEvery.recommended);

    expect(JSON.parse(readFileSync(join(out, 'results', 'results.json'), 'utf8')).mode).toBe('quick');
    expect(readFileSync(join(out, 'results', 'tables.md'), 'utf8')).toContain('| dvar-tuned |');
    const svg = readFileSync(join(out, 'results', 'chart.svg'), 'utf8');
    expect(svg.startsWith('<svg ')).toBe(true);
    expect(svg.endsWith('</svg>\n')).toBe(true);
  }, 300_000);
});
