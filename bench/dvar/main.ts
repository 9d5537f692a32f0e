// `node bench/dvar/main.ts [--quick] [--out <dir>] [--model <pipelineDir>] [--classifier <model.onnx>]`: the DVAR
// benchmark (issue 7). Tunes DVAR on tuning concepts, then on held-out concepts compares the fixed budget, DVAR
// (paper defaults and tuned, evalEvery 1/2/4/8), few-iterations and a sample-based rule — each read off one
// recorded fixed-budget run per concept. JSON on stdout; results.json, tables.md and chart.svg under --out.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openClassifier } from '../../models/src/classifier/classifier.ts';
import { benchConcepts, describeConcept } from './concepts.ts';
import { FULL, QUICK } from './config.ts';
import { conceptTable, evalEveryMarkdown, speedupQualityChart, summaryTable } from './render.ts';
import { evalEveryTable, recommendEvalEvery, summarizeMethods } from './results.ts';
import { type ConceptContext, evaluateConcept, recordWithCurve } from './run-concept.ts';
import { median } from './stats.ts';
import { replayDvar } from './stop-rules.ts';
import { tuneDvar } from './tune.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    model: { type: 'string', default: 'models/plateau-world-32' },
    classifier: { type: 'string', default: 'models/plateau-world-classifier/model.onnx' },
  },
});

const config = values.quick ? QUICK : FULL;
const out = resolve(values.out ?? join('out', `bench-dvar-${config.mode}`));
const pipelineDir = resolve(values.model);
const started = performance.now();
const log = (line: string) => {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};

const classifier = await openClassifier(resolve(values.classifier), config.threads);
const ctx: ConceptContext = { config, pipelineDir, classifier, log };

log(`DVAR benchmark (${config.mode}): model ${pipelineDir}, cap ${config.cap} steps`);
const tuningConcepts = benchConcepts('tuning', config.tuningConcepts, config.seed, config.imagesPerConcept);
const tuningRuns = [];
for (const concept of tuningConcepts) {
  const recorded = await recordWithCurve(concept, ctx);
  tuningRuns.push({ concept, recorded });
}
const tuning = tuneDvar(
  tuningRuns.map(({ recorded }) => ({ losses: recorded.run.losses, curve: recorded.curve, cap: config.cap })),
  config.tuneWindows.filter((w) => w < config.cap),
  config.tuneThresholds,
  config.tuneKeep,
);
const tunedStops = tuningRuns.map(
  ({ recorded }) => replayDvar(recorded.run.losses, tuning.chosen, 1, config.cap).steps,
);
// Few-iterations: a fixed short run as long as tuned DVAR's median stop on the tuning concepts (rounded to 10).
const fewIterations = Math.max(10, Math.round(median(tunedStops) / 10) * 10);
log(
  `tuned DVAR: window ${tuning.chosen.window}, threshold ${tuning.chosen.threshold} ` +
    `(tuning stops ${tunedStops.join(', ')}); few-iterations ${fewIterations} steps`,
);

const heldOut = benchConcepts('held-out', config.heldOutConcepts, config.seed, config.imagesPerConcept);
const concepts = [];
for (const concept of heldOut) {
  const recorded = await recordWithCurve(concept, ctx);
  concepts.push(await evaluateConcept(concept, recorded, { tuned: tuning.chosen, fewIterations }, ctx));
}
await classifier.release();

const summary = summarizeMethods(concepts);
const evalEvery = evalEveryTable(concepts, config.evalEveries);
const recommended = recommendEvalEvery(evalEvery);
const tuned = summary.find((s) => s.method === `dvar-tuned${recommended === 1 ? '' : `-k${recommended}`}`);
const result = {
  benchmark: 'dvar',
  mode: config.mode,
  model: pipelineDir,
  config,
  tuning: {
    concepts: tuningConcepts.map((c) => ({ id: c.id, description: describeConcept(c.concept) })),
    chosen: tuning.chosen,
    stops: tunedStops,
    fewIterations,
    grid: tuning.grid,
  },
  concepts,
  summary,
  evalEvery: { rows: evalEvery, recommended },
  goal: {
    medianSpeedupSteps: tuned?.speedupSteps.median ?? null,
    medianIdentityRatio: tuned?.identityRatio.median ?? null,
    medianOverheadShare: tuned?.overheadShare.median ?? null,
    met:
      tuned !== undefined &&
      tuned.speedupSteps.median >= 8 &&
      tuned.identityRatio.median >= 0.97 &&
      tuned.overheadShare.median <= 0.1,
  },
  wallSeconds: (performance.now() - started) / 1000,
};

mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
const methods = summary.map((s) => s.method);
writeFileSync(
  join(out, 'tables.md'),
  `## Medians [IQR] over ${concepts.length} held-out concepts\n\n${summaryTable(summary)}\n` +
    `## evalEvery (tuned DVAR; recommended k = ${recommended})\n\n${evalEveryMarkdown(evalEvery)}\n` +
    `## Per concept (* = the rule never fired: ran to the cap)\n\n${conceptTable(concepts, methods)}`,
);
writeFileSync(
  join(out, 'chart.svg'),
  speedupQualityChart(
    concepts,
    summary,
    `DVAR benchmark (${config.mode}): ${concepts.length} held-out concepts`,
  ),
);
log(`wrote ${out}/results.json, tables.md, chart.svg`);
process.stdout.write(`${JSON.stringify(result)}\n`);
