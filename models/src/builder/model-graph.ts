// A GraphBuilder with named parameters and the layers the base model is made of (linear, conv, GroupNorm as
// Reshape→InstanceNormalization→Reshape like SD exports, LayerNorm, SiLU, single-head attention). The same
// build code makes the exported components (parameters as initializers) and the pretraining graph (parameters
// as trainable inputs), so names always match. Only ops with gradient rules in trainer-image/src/autodiff are used.
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType, type Dim } from '../../../trainer-image/src/onnx/model.ts';
import { Rng } from '../../../trainer-image/src/train/rng.ts';

export type Init = 'normal' | 'zeros' | 'ones';

export interface ParamSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly init: Init;
  /** Standard deviation for 'normal'. */
  readonly std: number;
}

/** Parameter values by name (float32, row-major). */
export type Weights = Map<string, Float32Array>;

const I = (value: number) => ({ type: 'int', value }) as const;

export class ModelGraph {
  readonly builder: GraphBuilder;
  readonly params: ParamSpec[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(name: string) {
    this.builder = new GraphBuilder(name);
  }

  /** Registers a parameter and returns its name. */
  param(name: string, dims: readonly number[], init: Init, std = 0): string {
    if (this.params.some((p) => p.name === name)) throw new Error(`parameter '${name}' declared twice`);
    this.params.push({ name, dims: [...dims], init, std });
    return name;
  }

  /** A shared constant (deduplicated by key). */
  constFloat(key: string, dims: readonly number[], values: readonly number[]): string {
    const name = `const.${key}`;
    if (!this.constants.has(name)) {
      this.builder.initializer(name, { dataType: DataType.FLOAT, dims, values });
      this.constants.set(name, name);
    }
    return name;
  }

  int64s(values: readonly number[]): string {
    const name = `const.i64.${values.join('_').replaceAll('-', 'm')}`;
    if (!this.constants.has(name)) {
      this.builder.initializer(name, {
        dataType: DataType.INT64,
        dims: [values.length],
        values: values.map((v) => BigInt(v)),
      });
      this.constants.set(name, name);
    }
    return name;
  }

  scalar(value: number): string {
    return this.constFloat(`s.${value}`.replaceAll('-', 'm'), [], [value]);
  }

  /** Emits one node with a fresh output named after `scope`. */
  op(
    opType: string,
    inputs: readonly string[],
    scope: string,
    attrs?: Parameters<GraphBuilder['node']>[3],
  ): string {
    const out = `${scope}/${opType}_${this.counter++}`;
    this.builder.node(opType, inputs, [out], attrs, { name: out });
    return out;
  }

  linear(
    x: string,
    inF: number,
    outF: number,
    name: string,
    options: { bias?: boolean; zero?: boolean } = {},
  ) {
    const w = this.param(
      `${name}.weight`,
      [inF, outF],
      options.zero ? 'zeros' : 'normal',
      1 / Math.sqrt(inF),
    );
    let y = this.op('MatMul', [x, w], name);
    if (options.bias !== false) y = this.op('Add', [y, this.param(`${name}.bias`, [outF], 'zeros')], name);
    return y;
  }

  conv(
    x: string,
    cin: number,
    cout: number,
    name: string,
    options: { kernel?: number; stride?: number; zero?: boolean } = {},
  ): string {
    const k = options.kernel ?? 3;
    const w = this.param(
      `${name}.weight`,
      [cout, cin, k, k],
      options.zero ? 'zeros' : 'normal',
      1 / Math.sqrt(cin * k * k),
    );
    const b = this.param(`${name}.bias`, [cout], 'zeros');
    const p = Math.floor(k / 2);
    return this.op('Conv', [x, w, b], name, {
      kernel_shape: { type: 'ints', value: [k, k] },
      pads: { type: 'ints', value: [p, p, p, p] },
      strides: { type: 'ints', value: [options.stride ?? 1, options.stride ?? 1] },
    });
  }

  /** GroupNorm over [B, C, H, W]: normalise each of `groups` channel groups, then a per-channel affine. */
  groupNorm(x: string, c: number, h: number, w: number, groups: number, name: string): string {
    const grouped = this.op('Reshape', [x, this.int64s([0, groups, -1])], name);
    const ones = this.constFloat(`ones.${groups}`, [groups], new Array<number>(groups).fill(1));
    const zeros = this.constFloat(`zeros.${groups}`, [groups], new Array<number>(groups).fill(0));
    const normed = this.op('InstanceNormalization', [grouped, ones, zeros], name, {
      epsilon: { type: 'float', value: 1e-5 },
    });
    const back = this.op('Reshape', [normed, this.int64s([0, c, h, w])], name);
    const gamma = this.param(`${name}.weight`, [c, 1, 1], 'ones');
    const beta = this.param(`${name}.bias`, [c, 1, 1], 'zeros');
    return this.op('Add', [this.op('Mul', [back, gamma], name), beta], name);
  }

  layerNorm(x: string, d: number, name: string): string {
    const scale = this.param(`${name}.weight`, [d], 'ones');
    const bias = this.param(`${name}.bias`, [d], 'zeros');
    return this.op('LayerNormalization', [x, scale, bias], name, {
      axis: I(-1),
      epsilon: { type: 'float', value: 1e-5 },
    });
  }

  silu(x: string, scope: string): string {
    return this.op('Mul', [x, this.op('Sigmoid', [x], scope)], scope);
  }

  /**
   * Single-head scaled dot-product attention of tokens x [B, N, d] over context [B, M, dc] (self-attention when
   * context = x); `mask` [N, M] is added to the scores (0 or −1e4). Output projection starts at zero.
   */
  attention(x: string, context: string, d: number, dc: number, name: string, mask?: string): string {
    const q = this.linear(x, d, d, `${name}.q`, { bias: false });
    const k = this.linear(context, dc, d, `${name}.k`, { bias: false });
    const v = this.linear(context, dc, d, `${name}.v`, { bias: false });
    const kt = this.op('Transpose', [k], name, { perm: { type: 'ints', value: [0, 2, 1] } });
    let scores = this.op('Mul', [this.op('MatMul', [q, kt], name), this.scalar(1 / Math.sqrt(d))], name);
    if (mask) scores = this.op('Add', [scores, mask], name);
    const p = this.op('Softmax', [scores], name, { axis: I(-1) });
    return this.linear(this.op('MatMul', [p, v], name), d, d, `${name}.out`, { zero: true });
  }

  input(name: string, dataType: number, dims: readonly Dim[]): void {
    this.builder.input(name, dataType, dims);
  }

  output(name: string, dataType: number, dims: readonly Dim[] | undefined): void {
    this.builder.output(name, dataType, dims);
  }

  /** Binds a computed tensor to a fixed output name (an Identity). */
  rename(from: string, to: string): void {
    this.builder.node('Identity', [from], [to], undefined, { name: `${to}/Identity` });
  }

  /** Parameters as initializers with the given values (export). */
  addWeightsAsInitializers(weights: Weights): void {
    for (const p of this.params) {
      const values = weights.get(p.name);
      if (!values) throw new Error(`no weights for parameter '${p.name}'`);
      if (values.length !== p.dims.reduce((a, b) => a * b, 1))
        throw new Error(`parameter '${p.name}': ${values.length} values for [${p.dims.join(', ')}]`);
      this.builder.initializerTensor({
        name: p.name,
        dataType: DataType.FLOAT,
        dims: [...p.dims],
        data: {
          kind: 'raw',
          bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice(),
        },
      });
    }
  }

  /** Parameters as graph inputs (pretraining: every weight is a trainable input). */
  addWeightsAsInputs(): void {
    for (const p of this.params) this.builder.input(p.name, DataType.FLOAT, p.dims);
  }
}

/** Seeded initial values for parameters, in declaration order (same seed → same bytes). */
export function initialWeights(params: readonly ParamSpec[], seed: number): Weights {
  const rng = Rng.forStream(seed, 'init-weights');
  const weights: Weights = new Map();
  for (const p of params) {
    const n = p.dims.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    if (p.init === 'ones') values.fill(1);
    else if (p.init === 'normal') {
      rng.fillNormal(values);
      for (let i = 0; i < n; i++) values[i] = (values[i] ?? 0) * p.std;
    }
    weights.set(p.name, values);
  }
  return weights;
}
