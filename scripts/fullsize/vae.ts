// AutoencoderKL's encoder (→ quant_conv → latent_parameters = mean ‖ logvar, 2·4 channels) and decoder
// (post_quant_conv → … → sample), as the optimum/TorchScript exports split them: `m.encoder.*`, `m.decoder.*`.
import { attr } from '../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType, type OnnxModel } from '../../trainer-image/src/onnx/model.ts';
import type { VaeArch } from './arch.ts';
import { at, attention, conv, fromTokens, groupNorm, resnet, silu, toTokens } from './layers.ts';
import { type Scope, TorchGraph } from './torch-graph.ts';
import type { WeightFile } from './weight-file.ts';

function res(g: TorchGraph, a: VaeArch, scope: Scope, x: string, cin: number, cout: number): string {
  return resnet(g, scope, x, cin, cout, { groups: a.groups, eps: 1e-6 });
}

/** The mid block's single-head self-attention over the H·W tokens (Linear q/k/v with biases). */
function midAttention(g: TorchGraph, a: VaeArch, scope: Scope, x: string, ch: number): string {
  const tokens = toTokens(g, scope, groupNorm(g, at(scope, 'group_norm'), x, ch, a.groups, 1e-6), ch);
  const names = { q: 'to_q', k: 'to_k', v: 'to_v', out: ['to_out.0'] };
  const h = attention(g, scope, tokens, tokens, { dim: ch, contextDim: ch, heads: 1, qkvBias: true, names });
  const back = fromTokens(g, scope, h, x);
  return g.op(scope, 'Div', [g.op(scope, 'Add', [back, x]), g.float(scope, [], [1])]);
}

function midBlock(g: TorchGraph, a: VaeArch, scope: Scope, x: string, ch: number): string {
  let h = res(g, a, at(scope, 'resnets.0'), x, ch, ch);
  h = midAttention(g, a, at(scope, 'attentions.0'), h, ch);
  return res(g, a, at(scope, 'resnets.1'), h, ch, ch);
}

export function emitVaeEncoder(weights: WeightFile, a: VaeArch): OnnxModel {
  const g = new TorchGraph(weights, 'm', 400);
  const enc = ['encoder'];
  const ch = a.channels;
  let x = conv(g, at(enc, 'conv_in'), 'sample', 3, ch[0]);
  let xc = ch[0];
  ch.forEach((out, i) => {
    const block = at(enc, `down_blocks.${i}`);
    for (let j = 0; j < a.layersPerBlock; j++) {
      x = res(g, a, at(block, `resnets.${j}`), x, xc, out);
      xc = out;
    }
    if (i < ch.length - 1) {
      // Downsample2D with padding 0: pad right and bottom by one, then a stride-2 3×3 conv.
      const down = at(block, 'downsamplers.0');
      const padded = g.op(down, 'Pad', [x, g.int64(down, [0, 0, 0, 0, 0, 0, 1, 1]), g.float(down, [], [0])], {
        mode: attr.string('constant'),
      });
      x = conv(g, at(down, 'conv'), padded, out, out, { stride: 2, pad: 0 });
    }
  });
  x = midBlock(g, a, at(enc, 'mid_block'), x, xc);
  x = silu(g, at(enc, 'conv_act'), groupNorm(g, at(enc, 'conv_norm_out'), x, xc, a.groups, 1e-6));
  x = conv(g, at(enc, 'conv_out'), x, xc, 2 * a.latentChannels);
  const out = conv(g, ['quant_conv'], x, 2 * a.latentChannels, 2 * a.latentChannels, { kernel: 1 });
  g.renameOutput(out, 'latent_parameters');
  return g.model(
    [{ name: 'sample', dataType: g.dtype, dims: ['batch', 3, 'height', 'width'] }],
    [{ name: 'latent_parameters', dataType: g.dtype, dims: ['batch', 2 * a.latentChannels, 'h', 'w'] }],
    'main_graph',
  );
}

export function emitVaeDecoder(weights: WeightFile, a: VaeArch): OnnxModel {
  const g = new TorchGraph(weights, 'm', 600);
  const dec = ['decoder'];
  const reversed = [...a.channels].reverse();
  const top = reversed[0] ?? 0;
  let x = conv(g, ['post_quant_conv'], 'latent_sample', a.latentChannels, a.latentChannels, { kernel: 1 });
  x = conv(g, at(dec, 'conv_in'), x, a.latentChannels, top);
  x = midBlock(g, a, at(dec, 'mid_block'), x, top);
  let xc = top;
  reversed.forEach((out, i) => {
    const block = at(dec, `up_blocks.${i}`);
    for (let j = 0; j <= a.layersPerBlock; j++) {
      x = res(g, a, at(block, `resnets.${j}`), x, xc, out);
      xc = out;
    }
    if (i < reversed.length - 1) {
      const up = at(block, 'upsamplers.0');
      const scales = g.constant(up, { dataType: DataType.FLOAT, dims: [4], values: [1, 1, 2, 2] });
      const resized = g.op(up, 'Resize', [x, '', scales], {
        coordinate_transformation_mode: attr.string('asymmetric'),
        mode: attr.string('nearest'),
        nearest_mode: attr.string('floor'),
      });
      x = conv(g, at(up, 'conv'), resized, out, out);
    }
  });
  x = silu(g, at(dec, 'conv_act'), groupNorm(g, at(dec, 'conv_norm_out'), x, xc, a.groups, 1e-6));
  g.renameOutput(conv(g, at(dec, 'conv_out'), x, xc, 3), 'sample');
  return g.model(
    [{ name: 'latent_sample', dataType: g.dtype, dims: ['batch', a.latentChannels, 'height', 'width'] }],
    [{ name: 'sample', dataType: g.dtype, dims: ['batch', 3, 'H', 'W'] }],
    'main_graph',
  );
}
