// scratch (not committed): held-out oracle grid for CD
import { join, resolve } from 'node:path';
import { openClassifier } from '../../models/src/classifier/classifier.ts';
import { benchConcepts } from './concepts.ts';
import { benchConfig } from './config.ts';
import { classImagesFor, methodConfigFor, modelStampOf } from './method-setup.ts';
import { recordWithCurve } from './run-concept.ts';
import { median } from './stats.ts';
import { replayDvar } from './stop-rules.ts';
import { curveAt } from './tune.ts';
const set = (process.argv[2] ?? 'held-out') as 'held-out' | 'tuning';
const n = Number(process.argv[3] ?? 12);
const config = benchConfig('full', 'custom-diffusion');
const pipelineDir = resolve('models/plateau-world-32');
const classifier = await openClassifier(resolve('models/plateau-world-classifier/model.onnx'), 1);
const cacheRoot = resolve('out/bench-cache');
const runs = [];
for (const concept of benchConcepts(set, n, config.seed, config.imagesPerConcept)) {
  const classImages = classImagesFor(config, pipelineDir, cacheRoot, () => {});
  const r = await recordWithCurve(concept, { config, pipelineDir, classifier, log: (l) => process.stderr.write(`${l}\n`), modelStamp: modelStampOf(pipelineDir), cacheDir: join(cacheRoot, 'runs'), methodConfig: (c) => methodConfigFor(config, c), ...(classImages ? { classImages } : {}) });
  await r.release();
  runs.push({ id: concept.id, losses: r.run.losses, curve: r.curve });
}
for (const window of [40, 60, 80, 120, 160, 180, 240]) for (const threshold of [0.05, 0.1, 0.2, 0.3, 0.4]) {
  const s = runs.map((r) => { const { steps } = replayDvar(r.losses, { window, threshold }, 8, 500); return { steps, ratio: curveAt(r.curve, steps) / curveAt(r.curve, 500) }; });
  console.log(window, threshold, 'medSteps', median(s.map((x) => x.steps)), 'medRatio', median(s.map((x) => x.ratio)).toFixed(3), 'min', Math.min(...s.map((x) => x.ratio)).toFixed(3));
}
await classifier.release();
