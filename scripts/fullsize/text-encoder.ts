// A plain CLIP text transformer (CLIP-L for SD 1.5, OpenCLIP-H's 23 used layers for SD 2.1), named as the
// fixture's export is: token_embedding / position_embedding, layers.N.{layer_norm1, q_proj, k_proj, v_proj,
// out_proj, layer_norm2, fc1, fc2}, final_layer_norm. Causal mask as a constant; output last_hidden_state.
import { attr } from '../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType, type OnnxModel } from '../../trainer-image/src/onnx/model.ts';
import type { TextEncoderArch } from './arch.ts';
import { attention, gelu, layerNorm, linear, quickGelu } from './layers.ts';
import { TorchGraph } from './torch-graph.ts';
import type { WeightFile } from './weight-file.ts';

/** The most negative finite value of the compute dtype: masked scores vanish in the softmax. */
function lowest(dtype: number): number {
  return dtype === DataType.FLOAT16 ? -65504 : -3.4028234663852886e38;
}

export function emitTextEncoder(weights: WeightFile, a: TextEncoderArch): OnnxModel {
  const g = new TorchGraph(weights, undefined, 200);
  const d = a.hiddenSize;
  const n = a.maxLength;
  const tokens = g.op(['token_embedding'], 'Gather', [
    g.param(['token_embedding'], 'weight', [a.vocabSize, d], { kind: 'uniform', std: 0.02 }),
    'input_ids',
  ]);
  // Positions 0..len−1 sliced from the table, len read from input_ids as the export does.
  const position = g.param(['position_embedding'], 'weight', [n, d], { kind: 'uniform', std: 0.01 });
  const length = g.op([], 'Gather', [g.op([], 'Shape', ['input_ids']), g.int64([], [1])], {
    axis: attr.int(0),
  });
  const sliced = g.op([], 'Slice', [position, g.int64([], [0]), length, g.int64([], [0])]);
  let h = g.op([], 'Add', [tokens, sliced]);
  const mask = g.float(
    [],
    [1, 1, n, n],
    Array.from({ length: n * n }, (_, k) => (k % n > Math.floor(k / n) ? lowest(g.dtype) : 0)),
  );
  const names = { q: 'q_proj', k: 'k_proj', v: 'v_proj', out: ['out_proj'] };
  for (let l = 0; l < a.layers; l++) {
    const layer = [`layers.${l}`];
    const n1 = layerNorm(g, [...layer, 'layer_norm1'], h, d);
    const att = attention(g, layer, n1, n1, {
      dim: d,
      contextDim: d,
      heads: a.heads,
      qkvBias: true,
      names,
      mask,
    });
    h = g.op(layer, 'Add', [h, att]);
    const f1 = linear(
      g,
      [...layer, 'fc1'],
      layerNorm(g, [...layer, 'layer_norm2'], h, d),
      d,
      a.intermediateSize,
    );
    const act = a.act === 'gelu' ? gelu(g, layer, f1) : quickGelu(g, layer, f1);
    h = g.op(layer, 'Add', [h, linear(g, [...layer, 'fc2'], act, a.intermediateSize, d)]);
  }
  g.renameOutput(layerNorm(g, ['final_layer_norm'], h, d), 'last_hidden_state');
  return g.model(
    [{ name: 'input_ids', dataType: DataType.INT64, dims: ['batch', n] }],
    [{ name: 'last_hidden_state', dataType: g.dtype, dims: ['batch', n, d] }],
    'main_graph',
  );
}
