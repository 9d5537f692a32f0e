// diffusers' UNet2DConditionModel (SD 1.x / 2.x) as a TorchScript export lays it out: sinusoidal time_proj →
// time_embedding (Gemm), conv_in, 4 down blocks (3 with Transformer2DModel cross-attention), mid block, 4 up blocks
// with skip concatenation, conv_norm_out → SiLU → conv_out. Inputs sample / timestep / encoder_hidden_states.
import { attr } from '../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType, type OnnxModel } from '../../trainer-image/src/onnx/model.ts';
import { type UnetArch, unetHeads } from './arch.ts';
import {
  at,
  attention,
  conv,
  fromTokens,
  gelu,
  gemm,
  groupNorm,
  layerNorm,
  linear,
  resnet,
  silu,
  toTokens,
} from './layers.ts';
import { type Scope, TorchGraph } from './torch-graph.ts';
import type { WeightFile } from './weight-file.ts';

interface Ctx {
  readonly g: TorchGraph;
  readonly a: UnetArch;
  readonly temb: { act: string; dim: number };
  readonly context: string;
}

/** BasicTransformerBlock: self-attention, cross-attention, GEGLU feed-forward, each pre-LN and residual. */
function transformerBlock(c: Ctx, scope: Scope, x: string, ch: number): string {
  const { g } = c;
  const heads = unetHeads(c.a, ch);
  const names = { q: 'to_q', k: 'to_k', v: 'to_v', out: ['to_out.0'] };
  const self = { dim: ch, contextDim: ch, heads, qkvBias: false, names };
  const n1 = layerNorm(g, at(scope, 'norm1'), x, ch);
  const a1 = g.op(at(scope, 'attn1'), 'Div', [
    attention(g, at(scope, 'attn1'), n1, n1, self),
    g.float(at(scope, 'attn1'), [], [1]),
  ]);
  let h = g.op(scope, 'Add', [a1, x]);
  const cross = { ...self, contextDim: c.a.crossAttentionDim };
  const a2 = g.op(at(scope, 'attn2'), 'Div', [
    attention(g, at(scope, 'attn2'), layerNorm(g, at(scope, 'norm2'), h, ch), c.context, cross),
    g.float(at(scope, 'attn2'), [], [1]),
  ]);
  h = g.op(scope, 'Add', [a2, h]);
  // GEGLU: proj to 8·ch, split in half, hidden · gelu(gate), then back to ch.
  const ff = at(scope, 'ff');
  const proj = linear(g, at(ff, 'net.0', 'proj'), layerNorm(g, at(scope, 'norm3'), h, ch), ch, 8 * ch);
  const geglu = at(ff, 'net.0');
  const half = (start: number, end: number) =>
    g.op(geglu, 'Slice', [proj, g.int64(geglu, [start]), g.int64(geglu, [end]), g.int64(geglu, [-1])]);
  const gated = g.op(geglu, 'Mul', [half(0, 4 * ch), gelu(g, geglu, half(4 * ch, 8 * ch))]);
  return g.op(scope, 'Add', [linear(g, at(ff, 'net.2'), gated, 4 * ch, ch), h]);
}

/** Transformer2DModel: GroupNorm, proj_in (1×1 conv or Linear), one transformer block, proj_out, residual. */
function spatialTransformer(c: Ctx, scope: Scope, x: string, ch: number): string {
  const { g, a } = c;
  const normed = groupNorm(g, at(scope, 'norm'), x, ch, a.groups, 1e-6);
  let tokens: string;
  if (a.linearProjection) {
    tokens = linear(g, at(scope, 'proj_in'), toTokens(g, scope, normed, ch), ch, ch);
  } else {
    tokens = toTokens(g, scope, conv(g, at(scope, 'proj_in'), normed, ch, ch, { kernel: 1 }), ch);
  }
  const h = transformerBlock(c, at(scope, 'transformer_blocks.0'), tokens, ch);
  const out = a.linearProjection
    ? fromTokens(g, scope, linear(g, at(scope, 'proj_out'), h, ch, ch), x)
    : conv(g, at(scope, 'proj_out'), fromTokens(g, scope, h, x), ch, ch, { kernel: 1 });
  return g.op(scope, 'Add', [out, x]);
}

function res(c: Ctx, scope: Scope, x: string, cin: number, cout: number): string {
  return resnet(c.g, scope, x, cin, cout, { groups: c.a.groups, eps: 1e-5, temb: c.temb });
}

/** The sinusoidal timestep embedding (flip_sin_to_cos: cos first, freq_shift 0) → Linear → SiLU → Linear. */
function timeEmbedding(g: TorchGraph, timestep: string, c0: number): { act: string; dim: number } {
  const scope = ['time_proj'];
  const half = c0 / 2;
  const freqs = Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
  const t = g.op(scope, 'Unsqueeze', [
    g.op(scope, 'Cast', [timestep], { to: attr.int(DataType.FLOAT) }),
    g.int64(scope, [1]),
  ]);
  const arg = g.op(scope, 'Mul', [
    t,
    g.constant(scope, { dataType: DataType.FLOAT, dims: [1, half], values: freqs }),
  ]);
  let emb = g.op(scope, 'Concat', [g.op(scope, 'Cos', [arg]), g.op(scope, 'Sin', [arg])], {
    axis: attr.int(1),
  });
  if (g.dtype !== DataType.FLOAT) emb = g.op([], 'Cast', [emb], { to: attr.int(g.dtype) });
  const dim = 4 * c0;
  const l1 = gemm(g, ['time_embedding', 'linear_1'], emb, c0, dim);
  const l2 = gemm(g, ['time_embedding', 'linear_2'], silu(g, ['time_embedding', 'act'], l1), dim, dim);
  // Every resnet applies SiLU to the same embedding; the exporter keeps one copy (common subexpressions merged).
  return { act: silu(g, ['down_blocks.0', 'resnets.0', 'nonlinearity'], l2), dim };
}

export function emitUnet(weights: WeightFile, a: UnetArch): OnnxModel {
  const g = new TorchGraph(weights, 'm', 9093);
  const ch = a.channels;
  const c0 = ch[0];
  const temb = timeEmbedding(g, 'timestep', c0);
  const c: Ctx = { g, a, temb, context: 'encoder_hidden_states' };
  let x = conv(g, ['conv_in'], 'sample', 4, c0);
  let xc = c0;
  const skips: { name: string; ch: number }[] = [{ name: x, ch: c0 }];
  ch.forEach((out, i) => {
    const block = `down_blocks.${i}`;
    const attn = i < ch.length - 1;
    for (let j = 0; j < a.layersPerBlock; j++) {
      x = res(c, [block, `resnets.${j}`], x, xc, out);
      xc = out;
      if (attn) x = spatialTransformer(c, [block, `attentions.${j}`], x, out);
      skips.push({ name: x, ch: out });
    }
    if (i < ch.length - 1) {
      x = conv(g, [block, 'downsamplers.0', 'conv'], x, out, out, { stride: 2 });
      skips.push({ name: x, ch: out });
    }
  });
  const mid = ch[ch.length - 1] ?? c0;
  x = res(c, ['mid_block', 'resnets.0'], x, xc, mid);
  x = spatialTransformer(c, ['mid_block', 'attentions.0'], x, mid);
  x = res(c, ['mid_block', 'resnets.1'], x, mid, mid);
  const reversed = [...ch].reverse();
  reversed.forEach((out, i) => {
    const block = `up_blocks.${i}`;
    const attn = i > 0;
    for (let j = 0; j <= a.layersPerBlock; j++) {
      const skip = skips.pop();
      if (!skip) throw new Error('unet: ran out of skip connections');
      const cat = g.op([block], 'Concat', [x, skip.name], { axis: attr.int(1) });
      x = res(c, [block, `resnets.${j}`], cat, xc + skip.ch, out);
      xc = out;
      if (attn) x = spatialTransformer(c, [block, `attentions.${j}`], x, out);
    }
    if (i < reversed.length - 1) {
      const up = [block, 'upsamplers.0'];
      const scales = g.constant(up, { dataType: DataType.FLOAT, dims: [4], values: [1, 1, 2, 2] });
      const resized = g.op(up, 'Resize', [x, '', scales], {
        coordinate_transformation_mode: attr.string('asymmetric'),
        mode: attr.string('nearest'),
        nearest_mode: attr.string('floor'),
      });
      x = conv(g, at(up, 'conv'), resized, out, out);
    }
  });
  x = silu(g, ['conv_act'], groupNorm(g, ['conv_norm_out'], x, xc, a.groups, 1e-5));
  g.renameOutput(conv(g, ['conv_out'], x, xc, 4), 'out_sample');
  const dt = g.dtype;
  return g.model(
    [
      { name: 'sample', dataType: dt, dims: ['batch', 4, 'height', 'width'] },
      { name: 'timestep', dataType: DataType.INT64, dims: ['batch'] },
      { name: 'encoder_hidden_states', dataType: dt, dims: ['batch', 77, a.crossAttentionDim] },
    ],
    [{ name: 'out_sample', dataType: dt, dims: ['batch', 4, 'height', 'width'] }],
    'main_graph',
  );
}
