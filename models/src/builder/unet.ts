// A small conditional UNet in pixel space: sinusoidal timestep embedding → MLP, ResNet blocks (GroupNorm, SiLU,
// 3×3 convs, timestep bias), token blocks with cross-attention to the text encoder output at 16×16 and 8×8,
// strided-conv downsampling, nearest Resize + conv upsampling with skip concatenation. Predicts ε or v (the
// scheduler config's prediction_type says which; the network is the same).
import type { UnetConfig } from './config.ts';
import type { ModelGraph } from './model-graph.ts';

interface Ctx {
  readonly m: ModelGraph;
  readonly cfg: UnetConfig;
  /** SiLU of the timestep embedding [B, T], shared by every ResNet block. */
  readonly temb: string;
  readonly tembDim: number;
  readonly context: string;
}

function resBlock(c: Ctx, x: string, cin: number, cout: number, size: number, name: string): string {
  const { m } = c;
  let h = m.conv(
    m.silu(m.groupNorm(x, cin, size, size, c.cfg.groups, `${name}.norm1`), name),
    cin,
    cout,
    `${name}.conv1`,
  );
  const t = m.linear(c.temb, c.tembDim, cout, `${name}.time`);
  h = m.op('Add', [h, m.op('Reshape', [t, m.int64s([0, cout, 1, 1])], name)], name);
  h = m.conv(
    m.silu(m.groupNorm(h, cout, size, size, c.cfg.groups, `${name}.norm2`), name),
    cout,
    cout,
    `${name}.conv2`,
    {
      zero: true,
    },
  );
  const skip = cin === cout ? x : m.conv(x, cin, cout, `${name}.skip`, { kernel: 1 });
  return m.op('Add', [skip, h], name);
}

/** Pre-LN cross-attention + MLP over the H·W tokens of a feature map, residual in token space. */
function crossAttentionBlock(c: Ctx, x: string, ch: number, size: number, name: string): string {
  const { m } = c;
  const tokens = m.op('Transpose', [m.op('Reshape', [x, m.int64s([0, ch, size * size])], name)], name, {
    perm: { type: 'ints', value: [0, 2, 1] },
  });
  let h = m.op(
    'Add',
    [
      tokens,
      m.attention(
        m.layerNorm(tokens, ch, `${name}.ln1`),
        c.context,
        ch,
        c.cfg.crossAttentionDim,
        `${name}.attn`,
      ),
    ],
    name,
  );
  const f = m.linear(m.layerNorm(h, ch, `${name}.ln2`), ch, 2 * ch, `${name}.ff1`);
  h = m.op('Add', [h, m.linear(m.silu(f, name), 2 * ch, ch, `${name}.ff2`, { zero: true })], name);
  const back = m.op('Transpose', [h], name, { perm: { type: 'ints', value: [0, 2, 1] } });
  return m.op('Reshape', [back, m.int64s([0, ch, size, size])], name);
}

function upsample(c: Ctx, x: string, cin: number, cout: number, name: string): string {
  const { m } = c;
  const up = m.op('Resize', [x, '', m.constFloat('scales.up2', [4], [1, 1, 2, 2])], name, {
    mode: { type: 'string', value: 'nearest' },
    coordinate_transformation_mode: { type: 'string', value: 'asymmetric' },
    nearest_mode: { type: 'string', value: 'floor' },
  });
  return m.conv(up, cin, cout, `${name}.conv`);
}

/** Emits the UNet; returns the name of its prediction (ε or v) [B, 3, S, S]. */
export function emitUnet(
  m: ModelGraph,
  cfg: UnetConfig,
  inputs: { sample: string; timestep: string; context: string },
): string {
  const [c0, c1, c2] = cfg.channels;
  const s0 = cfg.imageSize;
  const s1 = s0 / 2;
  const s2 = s0 / 4;
  // Sinusoidal embedding of t (diffusers' flip_sin_to_cos: cos first), then a 2-layer MLP.
  const half = c0 / 2;
  const freqs = Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
  const tf = m.op(
    'Unsqueeze',
    [m.op('Cast', [inputs.timestep], 'unet.time', { to: { type: 'int', value: 1 } }), m.int64s([1])],
    'unet.time',
  );
  const arg = m.op('Mul', [tf, m.constFloat(`time_freqs.${half}`, [1, half], freqs)], 'unet.time');
  const sinusoid = m.op(
    'Concat',
    [m.op('Cos', [arg], 'unet.time'), m.op('Sin', [arg], 'unet.time')],
    'unet.time',
    {
      axis: { type: 'int', value: 1 },
    },
  );
  const tembDim = 4 * c0;
  const temb1 = m.linear(sinusoid, c0, tembDim, 'unet.time_embedding.linear_1');
  const temb = m.linear(m.silu(temb1, 'unet.time'), tembDim, tembDim, 'unet.time_embedding.linear_2');
  const c: Ctx = { m, cfg, temb: m.silu(temb, 'unet.time'), tembDim, context: inputs.context };

  const h0 = m.conv(inputs.sample, cfg.inChannels, c0, 'unet.conv_in');
  const skip0 = resBlock(c, h0, c0, c0, s0, 'unet.down0.res');
  let x = m.conv(skip0, c0, c0, 'unet.down0.downsample', { stride: 2 });
  x = resBlock(c, x, c0, c1, s1, 'unet.down1.res');
  const skip1 = crossAttentionBlock(c, x, c1, s1, 'unet.down1.attn');
  x = m.conv(skip1, c1, c1, 'unet.down1.downsample', { stride: 2 });
  x = resBlock(c, x, c1, c2, s2, 'unet.mid.res1');
  x = crossAttentionBlock(c, x, c2, s2, 'unet.mid.attn');
  x = resBlock(c, x, c2, c2, s2, 'unet.mid.res2');
  x = upsample(c, x, c2, c1, 'unet.up1.upsample');
  x = m.op('Concat', [x, skip1], 'unet.up1', { axis: { type: 'int', value: 1 } });
  x = resBlock(c, x, 2 * c1, c1, s1, 'unet.up1.res');
  x = crossAttentionBlock(c, x, c1, s1, 'unet.up1.attn');
  x = upsample(c, x, c1, c0, 'unet.up0.upsample');
  x = m.op('Concat', [x, skip0], 'unet.up0', { axis: { type: 'int', value: 1 } });
  x = resBlock(c, x, 2 * c0, c0, s0, 'unet.up0.res');
  const out = m.silu(m.groupNorm(x, c0, s0, s0, cfg.groups, 'unet.norm_out'), 'unet.out');
  return m.conv(out, c0, cfg.inChannels, 'unet.conv_out');
}
