// A pipeline the autodiff has never seen, built in code: SD 2-style (GELU text encoder with decomposed LayerNorm,
// linear transformer projections, GEGLU, "upcast" attention Casts, GroupNorm as InstanceNormalization between
// Reshapes, three UNet levels, nearest Resize, float timestep, v-prediction) at opset 14, seeded random weights.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Attr } from '../../../trainer-image/src/autodiff/grad-rule.ts';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType, type OnnxModel, type OnnxTensor } from '../../../trainer-image/src/onnx/model.ts';
import { mulberry32 as rng } from '../../support/mulberry32.ts';

const OPSET = 14;
const F = DataType.FLOAT;
const int = (value: number): Attr => ({ type: 'int', value });
const ints = (value: readonly number[]): Attr => ({ type: 'ints', value });

class Net {
  readonly b: GraphBuilder;
  private k = 0;
  private readonly rand: () => number;

  constructor(name: string, seed: number) {
    this.b = new GraphBuilder(name);
    this.rand = rng(seed);
  }

  t(label: string): string {
    return `${label}_${this.k++}`;
  }

  /** A weight with uniform values in ±scale. */
  w(label: string, dims: readonly number[], scale: number): string {
    const name = this.t(label);
    const n = dims.reduce((a, c) => a * c, 1);
    const values = Array.from({ length: n }, () => (this.rand() * 2 - 1) * scale);
    this.b.initializer(name, { dataType: F, dims, values });
    return name;
  }

  c(label: string, dims: readonly number[], values: readonly number[]): string {
    const name = this.t(label);
    this.b.initializer(name, { dataType: F, dims, values });
    return name;
  }

  i64(values: readonly number[]): string {
    const name = this.t('shape');
    this.b.initializer(name, { dataType: DataType.INT64, dims: [values.length], values: values.map(BigInt) });
    return name;
  }

  op(opType: string, inputs: readonly string[], attrs?: Record<string, Attr>): string {
    const out = this.t(opType.toLowerCase());
    this.b.node(opType, inputs, [out], attrs);
    return out;
  }

  linear(x: string, inF: number, outF: number, bias = true): string {
    const y = this.op('MatMul', [x, this.w('linear_w', [inF, outF], 1 / Math.sqrt(inF))]);
    return bias ? this.op('Add', [y, this.w('linear_b', [outF], 0.1)]) : y;
  }

  /** LayerNorm decomposed the way opset < 17 exports write it. */
  layerNorm(x: string, d: number): string {
    const mean = this.op('ReduceMean', [x], { axes: ints([-1]), keepdims: int(1) });
    const centered = this.op('Sub', [x, mean]);
    const variance = this.op('ReduceMean', [this.op('Pow', [centered, this.c('two', [], [2])])], {
      axes: ints([-1]),
      keepdims: int(1),
    });
    const std = this.op('Sqrt', [this.op('Add', [variance, this.c('eps', [], [1e-5])])]);
    const xhat = this.op('Div', [centered, std]);
    return this.op('Add', [this.op('Mul', [xhat, this.w('ln_g', [d], 0.2)]), this.w('ln_b', [d], 0.1)]);
  }

  gelu(x: string): string {
    const erf = this.op('Erf', [this.op('Div', [x, this.c('sqrt2', [], [Math.SQRT2])])]);
    return this.op('Mul', [
      this.op('Mul', [x, this.c('half', [], [0.5])]),
      this.op('Add', [erf, this.c('one', [], [1])]),
    ]);
  }

  silu(x: string): string {
    return this.op('Mul', [x, this.op('Sigmoid', [x])]);
  }

  /** Multi-head attention on [B, L, C] queries and [B, M, Ckv] context, with fp32 "upcast" Casts. */
  attention(x: string, context: string, c: number, ckv: number, heads: number, causal?: string): string {
    const dh = c / heads;
    const split = (t: string) =>
      this.op('Transpose', [this.op('Reshape', [t, this.i64([0, 0, heads, dh])])], {
        perm: ints([0, 2, 1, 3]),
      });
    const q = this.op('Cast', [split(this.linear(x, c, c, false))], { to: int(F) });
    const k = this.op('Cast', [split(this.linear(context, ckv, c, false))], { to: int(F) });
    const v = split(this.linear(context, ckv, c, false));
    let scores = this.op('Mul', [
      this.op('MatMul', [q, this.op('Transpose', [k], { perm: ints([0, 1, 3, 2]) })]),
      this.c('scale', [], [1 / Math.sqrt(dh)]),
    ]);
    if (causal) scores = this.op('Add', [scores, causal]);
    const p = this.op('Softmax', [scores], { axis: int(-1) });
    const o = this.op('Transpose', [this.op('MatMul', [p, v])], { perm: ints([0, 2, 1, 3]) });
    return this.linear(this.op('Reshape', [o, this.i64([0, 0, c])]), c, c);
  }

  groupNorm(x: string, ch: number, groups: number): string {
    const r = this.op('Reshape', [x, this.i64([0, groups, -1])]);
    const n = this.op(
      'InstanceNormalization',
      [
        r,
        this.c('gn_one', [groups], new Array(groups).fill(1)),
        this.c('gn_zero', [groups], new Array(groups).fill(0)),
      ],
      {
        epsilon: { type: 'float', value: 1e-5 },
      },
    );
    const back = this.op('Reshape', [n, this.op('Shape', [x])]);
    return this.op('Add', [
      this.op('Mul', [back, this.w('gn_g', [ch, 1, 1], 0.3)]),
      this.w('gn_b', [ch, 1, 1], 0.1),
    ]);
  }

  conv(x: string, cin: number, cout: number, kernel: number, stride = 1, weight?: string): string {
    const pad = (kernel - 1) / 2;
    return this.op(
      'Conv',
      [
        x,
        weight ?? this.w('conv_w', [cout, cin, kernel, kernel], 1 / Math.sqrt(cin * kernel * kernel)),
        this.w('conv_b', [cout], 0.1),
      ],
      {
        kernel_shape: ints([kernel, kernel]),
        pads: ints([pad, pad, pad, pad]),
        strides: ints([stride, stride]),
      },
    );
  }
}

const TE = { vocab: 16, d: 16, seq: 8, heads: 2 };
const UNET = { c0: 8, c1: 16, groups: 4, temb: 16, heads: 2, size: 8 };

function textEncoder(): Uint8Array {
  const n = new Net('text_encoder', 1);
  const { vocab, d, seq, heads } = TE;
  n.b.input('input_ids', DataType.INT64, ['batch', seq]);
  let h = n.op('Add', [
    n.op('Gather', [n.w('token_embedding', [vocab, d], 1), 'input_ids'], { axis: int(0) }),
    n.w('position_embedding', [seq, d], 0.5),
  ]);
  const mask = n.c(
    'causal_mask',
    [seq, seq],
    Array.from({ length: seq * seq }, (_, i) => (i % seq > Math.floor(i / seq) ? -1e4 : 0)),
  );
  for (let layer = 0; layer < 2; layer++) {
    const a = n.layerNorm(h, d);
    h = n.op('Add', [h, n.attention(a, a, d, d, heads, mask)]);
    const m = n.linear(n.gelu(n.linear(n.layerNorm(h, d), d, 2 * d)), 2 * d, d);
    h = n.op('Add', [h, m]);
  }
  const out = n.layerNorm(h, d);
  n.b.node('Identity', [out], ['last_hidden_state']);
  n.b.output('last_hidden_state', F, ['batch', seq, d]);
  return encodeModel(n.b.build(OPSET));
}

/** Moves every initializer over 256 bytes into one side file, as large exports do (weights.pb). */
function externalize(model: OnnxModel, location: string): { model: OnnxModel; data: Uint8Array } {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const initializers = model.graph.initializers.map((t): OnnxTensor => {
    if (t.data.kind !== 'raw' || t.data.bytes.byteLength <= 256) return t;
    const bytes = t.data.bytes;
    chunks.push(bytes);
    const entry: OnnxTensor = {
      ...t,
      data: { kind: 'external', location, offset, length: bytes.byteLength, baseDir: undefined },
    };
    offset += bytes.byteLength;
    return entry;
  });
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.byteLength;
  }
  return { model: { ...model, graph: { ...model.graph, initializers } }, data };
}

function unet(): OnnxModel {
  const n = new Net('unet', 2);
  const { c0, c1, groups, temb, heads, size } = UNET;
  n.b.input('sample', F, ['batch', 4, size, size]);
  n.b.input('timestep', F, ['batch']);
  n.b.input('encoder_hidden_states', F, ['batch', TE.seq, TE.d]);
  const freqs = n.c('freqs', [1, 4], [1, 0.1, 0.01, 0.001]);
  const args = n.op('Mul', [n.op('Unsqueeze', ['timestep', n.i64([1])]), freqs]);
  const emb = n.op('Concat', [n.op('Cos', [args]), n.op('Sin', [args])], { axis: int(1) });
  const gemm = (x: string, inF: number, outF: number) =>
    n.op('Gemm', [x, n.w('gemm_w', [outF, inF], 1 / Math.sqrt(inF)), n.w('gemm_b', [outF], 0.1)], {
      transB: int(1),
    });
  const tEmb = gemm(n.silu(gemm(emb, 8, temb)), temb, temb);

  const res = (x: string, cin: number, cout: number): string => {
    let h = n.conv(n.silu(n.groupNorm(x, cin, groups)), cin, cout, 3);
    h = n.op('Add', [h, n.op('Unsqueeze', [gemm(n.silu(tEmb), temb, cout), n.i64([2, 3])])]);
    h = n.conv(n.silu(n.groupNorm(h, cout, groups)), cout, cout, 3);
    const shortcut = cin === cout ? x : n.conv(x, cin, cout, 1);
    return n.op('Add', [shortcut, h]);
  };
  const transformer = (x: string, c: number): string => {
    const g = n.groupNorm(x, c, groups);
    let h = n.linear(
      n.op('Transpose', [n.op('Reshape', [g, n.i64([0, c, -1])])], { perm: ints([0, 2, 1]) }),
      c,
      c,
    );
    const a = n.layerNorm(h, c);
    h = n.op('Add', [h, n.attention(a, a, c, c, heads)]);
    h = n.op('Add', [h, n.attention(n.layerNorm(h, c), 'encoder_hidden_states', c, TE.d, heads)]);
    const proj = n.linear(n.layerNorm(h, c), c, 4 * c);
    const value = n.t('geglu_value');
    const gate = n.t('geglu_gate');
    n.b.node('Split', [proj, n.i64([2 * c, 2 * c])], [value, gate], { axis: int(-1) });
    h = n.op('Add', [h, n.linear(n.op('Mul', [value, n.gelu(gate)]), 2 * c, c)]);
    const out = n.op('Transpose', [n.linear(h, c, c)], { perm: ints([0, 2, 1]) });
    return n.op('Add', [x, n.op('Reshape', [out, n.op('Shape', [x])])]);
  };
  const up = (x: string): string =>
    n.op('Resize', [x, '', n.c('scales', [4], [1, 1, 2, 2])], { mode: { type: 'string', value: 'nearest' } });

  let x = n.conv('sample', 4, c0, 3, 1, n.w('conv_in_weight', [c0, 4, 3, 3], 0.3));
  x = transformer(res(x, c0, c0), c0);
  const skip0 = x;
  x = n.conv(x, c0, c1, 3, 2);
  x = transformer(res(x, c1, c1), c1);
  const skip1 = x;
  x = n.conv(x, c1, c1, 3, 2);
  x = res(transformer(res(x, c1, c1), c1), c1, c1);
  x = n.conv(up(x), c1, c1, 3);
  x = transformer(res(n.op('Concat', [x, skip1], { axis: int(1) }), 2 * c1, c1), c1);
  x = n.conv(up(x), c1, c1, 3);
  x = transformer(res(n.op('Concat', [x, skip0], { axis: int(1) }), c1 + c0, c0), c0);
  const out = n.conv(n.silu(n.groupNorm(x, c0, groups)), c0, 4, 3);
  n.b.node('Identity', [out], ['out_sample']);
  n.b.output('out_sample', F, ['batch', 4, size, size]);
  return n.b.build(OPSET);
}

/**
 * Writes the pipeline folder (diffusers ONNX layout) under `dir` and returns it; with `externalData` the UNet
 * keeps its weights in `unet/weights.pb` like the large exports.
 */
export function writeSd2StylePipeline(dir: string, options: { externalData?: boolean } = {}): string {
  for (const sub of ['text_encoder', 'unet', 'scheduler']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'text_encoder', 'model.onnx'), textEncoder());
  if (options.externalData) {
    const { model, data } = externalize(unet(), 'weights.pb');
    writeFileSync(join(dir, 'unet', 'weights.pb'), data);
    writeFileSync(join(dir, 'unet', 'model.onnx'), encodeModel(model, { modelDir: join(dir, 'unet') }));
  } else writeFileSync(join(dir, 'unet', 'model.onnx'), encodeModel(unet()));
  writeFileSync(
    join(dir, 'scheduler', 'scheduler_config.json'),
    JSON.stringify({
      _class_name: 'DDPMScheduler',
      beta_start: 0.00085,
      beta_end: 0.012,
      beta_schedule: 'scaled_linear',
      num_train_timesteps: 1000,
      prediction_type: 'v_prediction',
    }),
  );
  return dir;
}

export const SD2_STYLE = { te: TE, unet: UNET };
