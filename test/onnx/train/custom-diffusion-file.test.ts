/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Custom Diffusion's files read back into a UNet (tiny-sd): trained K/V written to diffusers' file and fed to the
// exposed graph, and written as the kohya .diff file and merged into the base weights, give one UNet output.
import {
  CUSTOM_DIFFUSION_KINDS,
  findProjections,
  type Projection,
} from '../../../trainer-image/src/onnx/attention-projections.ts';
import { exposeWeights } from '../../../trainer-image/src/onnx/expose-weights.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import type { TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import {
  readCustomDiffusionFile,
  readKohyaDiffFile,
  writeCustomDiffusionFile,
  writeKohyaDiffFile,
} from '../../../trainer-image/src/train/custom-diffusion-file.ts';
import { kohyaLoraName } from '../../../trainer-image/src/train/lora-file.ts';
import { mulberry32 } from '../../support/mulberry32.ts';
import {
  forwardFeeds,
  initialWeight,
  loadGoldenUnet,
  outSample,
  relErr,
  withWeights,
} from '../support/unet-golden.ts';

describe('custom-diffusion-file, read back into the UNet', () => {
  const g = loadGoldenUnet('tiny-sd');
  const initial = (p: Projection) => initialWeight(g.model.graph, p);

  it('Custom Diffusion K/V through diffusers’ file (fed) and the .diff file (merged) give one UNet', async () => {
    const projections = findProjections(g.model.graph, CUSTOM_DIFFUSION_KINDS);
    const rand = mulberry32(11);
    const trained = projections.map((p) => ({
      module: p.module,
      weight: initial(p).map((v) => v + 0.05 * (rand() - 0.5)),
      inFeatures: p.inFeatures,
      outFeatures: p.outFeatures,
    }));
    const diffusers = readCustomDiffusionFile(writeCustomDiffusionFile(trained));
    const exposed = exposeWeights(g.model.graph, projections);
    const feeds: Record<string, TypedTensor> = forwardFeeds(g);
    for (const w of exposed.weights) {
      const kv = diffusers.get(w.module);
      if (!kv) throw new Error(`no ${w.module} in the file`);
      feeds[w.input] = { dataType: DataType.FLOAT, dims: w.dims, data: kv.weight };
    }
    const fed = await outSample({ ...g.model, graph: exposed.graph }, feeds);
    const base = new Map(projections.map((p) => [p.module, initial(p)]));
    const diffs = readKohyaDiffFile(
      writeKohyaDiffFile(trained, (m) => base.get(m) ?? new Float32Array(), {
        title: 'test',
        crossAttentionDim: 32,
        predictionType: 'epsilon',
      }),
    );
    const merged = withWeights(g.model.graph, projections, (p) => {
      const d = diffs.get(kohyaLoraName(p.module))?.diff ?? new Float32Array();
      return initial(p).map((v, i) => v + (d[i] ?? 0));
    });
    const viaDiff = await outSample({ ...g.model, graph: merged }, forwardFeeds(g));
    expect(relErr(viaDiff, fed)).toBeLessThan(1e-5);
    const unchanged = await outSample(g.model, forwardFeeds(g));
    expect(relErr(unchanged, fed)).toBeGreaterThan(1e-3);
  }, 120_000);
});
