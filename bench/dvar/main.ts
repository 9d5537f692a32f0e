// `node bench/dvar/main.ts [--method <m>|all] [--quick] [--docs] [--out <dir>] [--model <dir>] [--lr x]`: the
// DVAR benchmark (issues 7, 17). Per method, against its paper budget: tunes DVAR on tuning concepts, then on
// held-out concepts compares the fixed budget, DVAR (paper and tuned, several evalEvery), few-iterations and a
// sample-based rule — each read off one recorded fixed-budget run per concept (cached under --cache). One JSON
// line per method on stdout; results.json, tables.md and chart.svg under --out/<method>; --docs also writes
// docs/benchmark/<method>.json and <method>.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openClassifier } from '../../models/src/classifier/classifier.ts';
import { isMethodName, METHODS, type MethodName } from '../../shared/methods.ts';
import { recordConcepts, runBenchmark } from './benchmark.ts';
import { type BenchConcept, benchConcepts } from './concepts.ts';
import { type BenchConfig, benchConfig } from './config.ts';
import { docsSummary } from './docs-summary.ts';
import { classImagesFor, methodConfigFor, modelStampOf } from './method-setup.ts';
import { conceptTable, evalEveryMarkdown, speedupQualityChart, summaryTable } from './render.ts';
import { workerPool } from './workers.ts';

const { values } = parseArgs({
  options: {
    method: { type: 'string', default: 'textual-inversion' },
    quick: { type: 'boolean', default: false },
    docs: { type: 'boolean', default: false },
    out: { type: 'string' },
    cache: { type: 'string', default: join('out', 'bench-cache') },
    'no-cache': { type: 'boolean', default: false },
    model: { type: 'string', default: 'models/plateau-world-32' },
    classifier: { type: 'string', default: 'models/plateau-world-classifier/model.onnx' },
    lr: { type: 'string' },
    // A worker: record (and cache) only these concepts' runs and curves (comma-separated ids), then exit.
    'record-only': { type: 'string' },
    // Record every (method, concept) run in this many worker processes first, then evaluate from the cache.
    jobs: { type: 'string', default: '1' },
    // Evaluate only the held-out concepts already recorded in the cache (a partial run, counted in the output).
    'recorded-only': { type: 'boolean', default: false },
    // Evaluate on the first N held-out concepts only (e.g. the ones recorded so far); default: the mode's count.
    'held-out': { type: 'string' },
  },
});

const methods: MethodName[] = values.method === 'all' ? [...METHODS] : [];
if (values.method !== 'all') {
  if (!isMethodName(values.method)) {
    throw new Error(`--method must be one of ${METHODS.join(', ')} or all (got ${values.method})`);
  }
  methods.push(values.method);
}
const lr = values.lr === undefined ? undefined : Number(values.lr);
if (lr !== undefined && !(lr > 0)) throw new Error(`--lr must be a positive number (got ${values.lr})`);
const mode = values.quick ? 'quick' : 'full';
const heldOutCount = values['held-out'] === undefined ? undefined : Number(values['held-out']);
if (heldOutCount !== undefined && !(Number.isInteger(heldOutCount) && heldOutCount >= 1)) {
  throw new Error(`--held-out must be a positive integer (got ${values['held-out']})`);
}
/** The mode's settings for a method, with the command line's learning rate and held-out count. */
const configFor = (method: MethodName): BenchConfig => {
  const c = benchConfig(mode, method, lr);
  return heldOutCount === undefined ? c : { ...c, heldOutConcepts: heldOutCount };
};
const outRoot = resolve(values.out ?? join('out', `bench-dvar-${mode}`));
const pipelineDir = resolve(values.model);
const cacheDir = values['no-cache'] ? undefined : resolve(values.cache);
const started = performance.now();
const log = (line: string) => {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(5)} s] ${line}\n`);
};
const modelStamp = modelStampOf(pipelineDir);

const jobs = Number(values.jobs);
if (!Number.isInteger(jobs) || jobs < 1)
  throw new Error(`--jobs must be a positive integer (got ${values.jobs})`);
if (jobs > 1 && values['record-only'] === undefined) {
  if (!cacheDir) throw new Error('--jobs needs the cache (drop --no-cache)');
  const shares = methods.flatMap((method) => {
    const c = configFor(method);
    const ids = [
      ...benchConcepts('tuning', c.tuningConcepts, c.seed, 0),
      ...benchConcepts('held-out', c.heldOutConcepts, c.seed, 0),
    ].map((concept) => concept.id);
    return ids.map((id) => ({ method, id }));
  });
  const passOn = [
    ...(values.quick ? ['--quick'] : []),
    ...['--model', pipelineDir, '--classifier', resolve(values.classifier), '--cache', cacheDir],
    ...(values.lr === undefined ? [] : ['--lr', values.lr]),
  ];
  // Custom Diffusion's class images first, here: workers sharing a class word then all read them from the cache.
  for (const method of methods) {
    const c = configFor(method);
    const classImages = classImagesFor(c, pipelineDir, cacheDir, log);
    if (!classImages) continue;
    for (const concept of benchConcepts('tuning', c.tuningConcepts, c.seed, 0)) await classImages(concept);
    for (const concept of benchConcepts('held-out', c.heldOutConcepts, c.seed, 0)) await classImages(concept);
  }
  await workerPool(
    shares,
    jobs,
    ({ method, id }) => [fileURLToPath(import.meta.url), '--method', method, '--record-only', id, ...passOn],
    log,
  );
}

const classifier = await openClassifier(resolve(values.classifier), 1);
for (const method of methods) {
  const config = configFor(method);
  const classImages = classImagesFor(config, pipelineDir, cacheDir ?? join(outRoot, 'cache'), log);
  const ctx = {
    config,
    pipelineDir,
    classifier,
    log,
    modelStamp,
    methodConfig: (concept: BenchConcept) => methodConfigFor(config, concept),
    ...(cacheDir ? { cacheDir: join(cacheDir, 'runs') } : {}),
    ...(classImages ? { classImages } : {}),
  };
  if (values['record-only'] !== undefined) {
    if (!cacheDir) throw new Error('--record-only needs the cache (drop --no-cache)');
    await recordConcepts(ctx, values['record-only'].split(','));
    continue;
  }
  const result = await runBenchmark(ctx, values['recorded-only']);
  const out = join(outRoot, method);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  const names = result.summary.map((s) => s.method);
  writeFileSync(
    join(out, 'tables.md'),
    `## Medians [IQR] over ${result.concepts.length} held-out concepts\n\n${summaryTable(result.summary)}\n` +
      `## evalEvery (tuned DVAR; recommended k = ${result.evalEvery.recommended})\n\n${evalEveryMarkdown(result.evalEvery.rows)}\n` +
      `## Per concept (* = the rule never fired: ran to the cap)\n\n${conceptTable(result.concepts, names)}`,
  );
  const chart = speedupQualityChart(
    result.concepts,
    result.summary,
    `${method} (${mode}), cap ${config.cap}: ${result.concepts.length} held-out concepts`,
    result.goal.speedupSteps,
  );
  writeFileSync(join(out, 'chart.svg'), chart);
  if (values.docs) {
    mkdirSync(join('docs', 'benchmark'), { recursive: true });
    writeFileSync(
      join('docs', 'benchmark', `${method}.json`),
      `${JSON.stringify(docsSummary(result), null, 2)}\n`,
    );
    writeFileSync(join('docs', 'benchmark', `${method}.svg`), chart);
  }
  log(
    `wrote ${out}/results.json, tables.md, chart.svg${values.docs ? ` and docs/benchmark/${method}.*` : ''}`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
await classifier.release();
