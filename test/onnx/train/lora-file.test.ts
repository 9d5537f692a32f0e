/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The kohya LoRA file read back into a UNet (tiny-sd): golden-lora's A/B written with alpha 2 at rank 4, read and
// merged into the base weights (W + (alpha/r)·up·down), reproduce the graph adapted with scale 0.5.
import {
  findProjections,
  LORA_TARGETS,
  type Projection,
} from '../../../trainer-image/src/onnx/attention-projections.ts';
import { addLoraAdapters } from '../../../trainer-image/src/onnx/lora.ts';
import type { TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import {
  kohyaLoraName,
  mergeLora,
  readLoraFile,
  writeLoraFile,
} from '../../../trainer-image/src/train/lora-file.ts';
import {
  float32Feed,
  forwardFeeds,
  initialWeight,
  loadGoldenUnet,
  outSample,
  relErr,
  withWeights,
} from '../support/unet-golden.ts';

describe('lora-file, read back into the UNet', () => {
  const g = loadGoldenUnet('tiny-sd');
  const initial = (p: Projection) => initialWeight(g.model.graph, p);

  it('a kohya LoRA file merged into the base weights reproduces the adapted UNet', async () => {
    const projections = findProjections(g.model.graph, LORA_TARGETS.attention);
    const feeds: Record<string, TypedTensor> = forwardFeeds(g);
    const weights = projections.map((p) => {
      const a = float32Feed(g.lora, `lora.A.${p.module}`);
      const b = float32Feed(g.lora, `lora.B.${p.module}`);
      feeds[`lora.A.${p.module}`] = a;
      feeds[`lora.B.${p.module}`] = b;
      return {
        module: p.module,
        down: a.data as Float32Array,
        up: b.data as Float32Array,
        inFeatures: p.inFeatures,
        outFeatures: p.outFeatures,
      };
    });
    // alpha 2 at rank 4: the file says scale 0.5, and the adapted graph is built with that scale.
    const bytes = writeLoraFile(weights, {
      rank: 4,
      alpha: 2,
      crossAttentionDim: 32,
      predictionType: 'epsilon',
      title: 'test',
    });
    const adapted = await outSample(
      { ...g.model, graph: addLoraAdapters(g.model.graph, projections, { rank: 4, scale: 0.5 }).graph },
      feeds,
    );
    const file = readLoraFile(bytes);
    const merged = withWeights(g.model.graph, projections, (p) => {
      const entry = file.entries.get(kohyaLoraName(p.module));
      if (!entry) throw new Error(`no entry for ${p.module}`);
      return mergeLora(initial(p), entry);
    });
    expect(relErr(await outSample({ ...g.model, graph: merged }, forwardFeeds(g)), adapted)).toBeLessThan(
      1e-5,
    );
  }, 120_000);
});
