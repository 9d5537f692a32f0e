/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Min-SNR-γ weights in the training graph (TrainingGraphOptions.snrGamma): each sample's mean
// squared error is scaled by min(SNR_t, γ)/SNR_t (ε targets) inside the graph, gathered by its timestep; without
// the option the graph is the paper's plain MSE. Checked per golden sample on tiny-sd, and the weighted gradient
// is finite and differs from the plain one.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { goldenFeeds } from '../../../bench/gradcheck/golden-feeds.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import { parseSchedulerConfig } from '../../../trainer-image/src/train/ddpm.ts';
import {
  buildTrainingGraph,
  sessionSource,
  type TrainingGraph,
} from '../../../trainer-image/src/train/training-graph.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const DIR = fixtureDir('tiny-sd');
const GAMMA = 5;

/** Item `b` of every batched feed (the rows input is not batched). */
function item(g: TrainingGraph, feeds: Record<string, TypedTensor>, b: number): Record<string, TypedTensor> {
  const out: Record<string, TypedTensor> = { ...feeds };
  for (const name of [g.inputs.inputIds, g.inputs.latents, g.inputs.noise, g.inputs.timesteps]) {
    const t = feeds[name];
    if (!t) throw new Error(`no feed ${name}`);
    const n = t.dims[0] ?? 1;
    const per = t.data.length / n;
    out[name] = {
      ...t,
      dims: [1, ...t.dims.slice(1)],
      data: t.data.slice(b * per, (b + 1) * per),
    } as TypedTensor;
  }
  return out;
}

async function lossOf(session: Session, feeds: Record<string, TypedTensor>): Promise<number> {
  const v = (await session.run(feeds, ['loss'])).loss?.data[0];
  if (typeof v !== 'number') throw new Error('no loss');
  return v;
}

describe('min-SNR loss weights', () => {
  it('weights each sample by min(SNR, γ)/SNR of its timestep, and changes the gradient', async () => {
    const plain = buildTrainingGraph(DIR);
    const weighted = buildTrainingGraph(DIR, { snrGamma: GAMMA });
    expect(plain.forward.graph.initializers.some((t) => t.name === 'ddpm/min_snr_weights')).toBe(false);
    const schedule = parseSchedulerConfig(
      JSON.parse(readFileSync(join(DIR, 'scheduler', 'scheduler_config.json'), 'utf8')),
    );
    expect(schedule.predictionType).toBe('epsilon');
    const feeds = goldenFeeds(DIR, plain);
    const timesteps = Array.from(feeds[plain.inputs.timesteps]?.data ?? [], Number);
    const plainFwd = await Session.create(sessionSource(plain.forward, plain.modelDir), {
      intraOpThreads: 1,
    });
    const weightedFwd = await Session.create(sessionSource(weighted.forward, weighted.modelDir), {
      intraOpThreads: 1,
    });
    let mean = 0;
    for (const [b, t] of timesteps.entries()) {
      const ab = schedule.alphasCumprod[t] ?? 0;
      const snr = ab / (1 - ab);
      const w = Math.min(snr, GAMMA) / snr;
      const l = await lossOf(plainFwd, item(plain, feeds, b));
      expect(await lossOf(weightedFwd, item(weighted, feeds, b))).toBeCloseTo(w * l, 6);
      mean += (w * l) / timesteps.length;
    }
    expect(await lossOf(weightedFwd, feeds)).toBeCloseTo(mean, 6);
    // Not vacuous: some golden timestep has SNR above γ, so its weight is below 1.
    const snrs = timesteps.map(
      (t) => (schedule.alphasCumprod[t] ?? 0) / (1 - (schedule.alphasCumprod[t] ?? 0)),
    );
    expect(snrs.some((snr) => snr > GAMMA)).toBe(true);

    const grads: Float32Array[] = [];
    for (const g of [plain, weighted]) {
      const s = await Session.create(sessionSource(g.train, g.modelDir), { intraOpThreads: 1 });
      const out = await s.run(feeds, ['loss', g.gradient]);
      const grad = out[g.gradient]?.data;
      if (!(grad instanceof Float32Array)) throw new Error('no gradient');
      expect(grad.every(Number.isFinite)).toBe(true);
      grads.push(grad);
      await s.release();
    }
    expect(grads[1]).not.toEqual(grads[0]);
    await plainFwd.release();
    await weightedFwd.release();
  }, 120_000);
});
