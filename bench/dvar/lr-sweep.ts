// `node bench/dvar/lr-sweep.ts --method <m> --lrs 1e-5,1e-4,1e-3 [--token-lrs=-,1e-2] [--rescale]
// [--prior-weight λ] [--concepts N]`: does a method learn on this model at a learning rate (and the token row at
// its own)? For each rate, the fixed-budget run on the first N tuning concepts (the benchmark's own runs, cached
// under out/bench-cache, so the chosen rate's runs are reused by main.ts): how far the deterministic loss falls,
// the identity curve (start, peak, end, every check) and where DVAR at the paper's setting stops.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openClassifier } from '../../models/src/classifier/classifier.ts';
import { isMethodName } from '../../shared/methods.ts';
import { benchConcepts } from './concepts.ts';
import { benchConfig } from './config.ts';
import { classImagesFor, methodConfigFor, modelStampOf } from './method-setup.ts';
import { recordWithCurve } from './run-concept.ts';
import { mean } from './stats.ts';
import { replayDvar } from './stop-rules.ts';

const { values } = parseArgs({
  options: {
    method: { type: 'string', default: 'custom-diffusion' },
    lrs: { type: 'string', default: '1e-5,1e-4,1e-3' },
    // Rates for the token row alone, before batch scaling ('-' = the base rate), each tried with every --lrs value.
    'token-lrs': { type: 'string', default: '-' },
    // Custom Diffusion only: random rescale with the masked loss (off in the benchmark), and the prior's weight.
    rescale: { type: 'boolean', default: false },
    'prior-weight': { type: 'string' },
    concepts: { type: 'string', default: '2' },
    model: { type: 'string', default: 'models/plateau-world-32' },
    classifier: { type: 'string', default: 'models/plateau-world-classifier/model.onnx' },
    cache: { type: 'string', default: join('out', 'bench-cache') },
  },
});
const method = values.method;
if (!isMethodName(method)) throw new Error(`--method: unknown method ${method}`);
const lrs = values.lrs.split(',').map(Number);
if (lrs.some((lr) => !(lr > 0))) throw new Error(`--lrs must be positive numbers (got ${values.lrs})`);
const tokenLrs = values['token-lrs'].split(',').map((v) => (v === '-' ? undefined : Number(v)));
if (tokenLrs.some((lr) => lr !== undefined && !(lr > 0))) {
  throw new Error(`--token-lrs must be positive numbers or '-' (got ${values['token-lrs']})`);
}
const cdOverrides = {
  ...(values.rescale ? { randomRescale: true } : {}),
  ...(values['prior-weight'] === undefined ? {} : { priorLossWeight: Number(values['prior-weight']) }),
};
const pipelineDir = resolve(values.model);
const log = (line: string) => process.stderr.write(`${line}\n`);
const modelStamp = modelStampOf(pipelineDir);
const cacheRoot = resolve(values.cache);
const classifier = await openClassifier(resolve(values.classifier), 1);
const rows = [];
for (const { lr, tokenLr } of lrs.flatMap((lr) => tokenLrs.map((tokenLr) => ({ lr, tokenLr })))) {
  const config = benchConfig('full', method, lr, tokenLr ?? lr);
  const concepts = benchConcepts('tuning', Number(values.concepts), config.seed, config.imagesPerConcept);
  for (const concept of concepts) {
    // The benchmark's own settings (prior preservation included), so its cached runs are these.
    const classImages = classImagesFor(config, pipelineDir, cacheRoot, log);
    const recorded = await recordWithCurve(concept, {
      config,
      pipelineDir,
      classifier,
      log,
      modelStamp,
      cacheDir: join(cacheRoot, 'runs'),
      methodConfig: (c) => ({ ...methodConfigFor(config, c), ...cdOverrides }),
      ...(classImages ? { classImages } : {}),
    });
    await recorded.release();
    const losses = recorded.run.losses;
    const head = mean(losses.slice(0, 20));
    const tail = mean(losses.slice(-20));
    const identities = recorded.curve.map((p) => p.identity);
    const row = {
      lr,
      tokenLr: tokenLr ?? lr,
      concept: concept.id,
      lossStart: head,
      lossEnd: tail,
      lossDrop: (head - tail) / head,
      identityStart: identities[0],
      identityPeak: Math.max(...identities),
      identityEnd: identities[identities.length - 1],
      identities: identities.map((v) => Number(v.toFixed(3))),
      paperStop: replayDvar(losses, config.paper, 1, config.cap).steps,
    };
    log(JSON.stringify(row));
    rows.push(row);
  }
}
await classifier.release();
process.stdout.write(
  `${JSON.stringify({ bench: 'lr-sweep', method, model: values.model, customDiffusion: cdOverrides, rows }, null, 2)}\n`,
);
