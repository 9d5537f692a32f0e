// CI smoke test of the DVAR benchmark: `node bench/dvar/main.ts --quick` (textual inversion) on the committed base
// model and classifier (a random-init model from the builder stands in while models/plateau-world-32 is not
// committed); checks the JSON's structure and sanity (steps > 0, speedups ≥ 1, qualities in range), the files it
// writes and that a second run reads the recorded runs from the cache. About 40 s on 2 idle cores.
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
  alignmentChange: z.number().min(-1).max(1),
  gainKept: z.number(),
});
const Result = z.object({
  benchmark: z.literal('dvar'),
  method: z.literal('textual-inversion'),
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
  'dvar-tuned-k16',
  'few-iterations',
  'sample-based',
];

describe('bench/dvar --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'plateau-bench-dvar-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('trains, replays every rule and reports sane figures', async () => {
    const model = baseModel(out);
    const args = ['bench/dvar/main.ts', '--quick', '--out', join(out, 'results'), '--model', model];
    const { stdout, stderr } = await run(process.execPath, [...args, '--cache', join(out, 'cache')], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(stderr).not.toContain('read from the cache');
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
      const overhead = EXPECTED_METHODS.slice(2, 7).map(
        (name) => concept.methods.find((m) => m.method === name)!,
      );
      expect(overhead[4]!.overheadShare).toBeLessThan(overhead[0]!.overheadShare);
      // The paper's few-iterations count, scaled to the quick cap (475 of 6100).
      expect(concept.methods.find((m) => m.method === 'few-iterations')!.steps).toBe(
        result.tuning.fewIterations,
      );
      expect(concept.curve[0]!.step).toBe(0);
      expect(concept.curve[concept.curve.length - 1]!.step).toBe(concept.cap);
    }
    expect(result.summary.map((s) => s.method)).toEqual(EXPECTED_METHODS);
    expect(result.evalEvery.rows.map((r) => r.evalEvery)).toEqual([1, 2, 4, 8, 16]);
    expect([1, 2, 4, 8, 16]).toContain(result.evalEvery.recommended);

    const files = join(out, 'results', 'textual-inversion');
    expect(JSON.parse(readFileSync(join(files, 'results.json'), 'utf8')).mode).toBe('quick');
    expect(readFileSync(join(files, 'tables.md'), 'utf8')).toContain('| dvar-tuned |');
    const svg = readFileSync(join(files, 'chart.svg'), 'utf8');
    expect(svg.startsWith('<svg ')).toBe(true);
    expect(svg.endsWith('</svg>\n')).toBe(true);

    // A worker's share (--record-only) finds every run and curve cached: nothing is trained or sampled again.
    const again = await run(
      process.execPath,
      [...args, '--cache', join(out, 'cache'), '--record-only', 'h01,h02'],
      {
        cwd: root,
      },
    );
    expect(again.stderr.match(/read from the cache/g)).toHaveLength(2);
    expect(again.stderr).not.toContain('identity checks');
  }, 300_000);
});
