// The layers Stable Diffusion is made of, emitted as a TorchScript export spells them: Linear = MatMul with a
// transposed anonymous weight (+ Add bias), GroupNorm = Reshape→InstanceNormalization→Reshape→Mul→Add, LayerNorm
// decomposed (opset 14 has none), SiLU = x·σ(x), GELU via Erf, attention with heads split by Reshape/Transpose.
import { attr } from '../../trainer-image/src/autodiff/grad-rule.ts';
import type { Scope, TorchGraph } from './torch-graph.ts';
import type { WeightInit } from './weight-file.ts';

/** PyTorch's default init has std 1/√(3·fan_in); random weights this size keep activations finite. */
export const fanIn = (n: number): WeightInit => ({ kind: 'uniform', std: 1 / Math.sqrt(3 * n) });
const ONES: WeightInit = { kind: 'ones' };
const ZEROS: WeightInit = { kind: 'zeros' };
/** Biases start small but non-zero so every parameter carries information (and fp16 rounding shows). */
const BIAS: WeightInit = { kind: 'uniform', std: 0.01 };

export const at = (scope: Scope, ...more: string[]): Scope => [...scope, ...more];

/** y = x·W (+ b): W anonymous [in, out] like torch's transposed Linear weight, b named `<path>.bias`. */
export function linear(
  g: TorchGraph,
  scope: Scope,
  x: string,
  inF: number,
  outF: number,
  bias = true,
): string {
  const w = g.anonymousParam('MatMul', [inF, outF], fanIn(inF));
  const y = g.op(scope, 'MatMul', [x, w]);
  if (!bias) return y;
  return g.op(scope, 'Add', [g.param(scope, 'bias', [outF], BIAS), y]);
}

/** A Linear on a 2-D input: torch exports it as Gemm with the named [out, in] weight and transB = 1. */
export function gemm(g: TorchGraph, scope: Scope, x: string, inF: number, outF: number): string {
  const w = g.param(scope, 'weight', [outF, inF], fanIn(inF));
  const b = g.param(scope, 'bias', [outF], BIAS);
  return g.op(scope, 'Gemm', [x, w, b], {
    alpha: attr.float(1),
    beta: attr.float(1),
    transB: attr.int(1),
  });
}

export function conv(
  g: TorchGraph,
  scope: Scope,
  x: string,
  cin: number,
  cout: number,
  options: { kernel?: number; stride?: number; pad?: number } = {},
): string {
  const k = options.kernel ?? 3;
  const p = options.pad ?? Math.floor(k / 2);
  const s = options.stride ?? 1;
  const w = g.param(scope, 'weight', [cout, cin, k, k], fanIn(cin * k * k));
  const b = g.param(scope, 'bias', [cout], BIAS);
  return g.op(scope, 'Conv', [x, w, b], {
    dilations: attr.ints([1, 1]),
    group: attr.int(1),
    kernel_shape: attr.ints([k, k]),
    pads: attr.ints([p, p, p, p]),
    strides: attr.ints([s, s]),
  });
}

/** GroupNorm over [B, C, H, W]: InstanceNormalization of [B, groups, −1], back to x's shape, per-channel affine. */
export function groupNorm(
  g: TorchGraph,
  scope: Scope,
  x: string,
  channels: number,
  groups: number,
  eps: number,
): string {
  const grouped = g.op(scope, 'Reshape', [x, g.int64(scope, [0, groups, -1])], { allowzero: attr.int(0) });
  const normed = g.op(
    scope,
    'InstanceNormalization',
    [
      grouped,
      g.float(scope, [groups], new Array<number>(groups).fill(1)),
      g.float(scope, [groups], new Array<number>(groups).fill(0)),
    ],
    { epsilon: attr.float(eps) },
  );
  const back = g.op(scope, 'Reshape', [normed, g.op(scope, 'Shape', [x])], { allowzero: attr.int(0) });
  // torch folds weight.view(C, 1, 1) into anonymous constants.
  const gamma = g.anonymousParam('Mul', [channels, 1, 1], ONES);
  const beta = g.anonymousParam('Add', [channels, 1, 1], ZEROS);
  return g.op(scope, 'Add', [g.op(scope, 'Mul', [back, gamma]), beta]);
}

/** LayerNorm over the last axis, decomposed: (x − μ) / √(σ² + ε) · γ + β. */
export function layerNorm(g: TorchGraph, scope: Scope, x: string, d: number, eps = 1e-5): string {
  const mean = g.op(scope, 'ReduceMean', [x], { axes: attr.ints([-1]) });
  const centred = g.op(scope, 'Sub', [x, mean]);
  const squared = g.op(scope, 'Pow', [centred, g.float(scope, [], [2])]);
  const variance = g.op(scope, 'ReduceMean', [squared], { axes: attr.ints([-1]) });
  const std = g.op(scope, 'Sqrt', [g.op(scope, 'Add', [variance, g.float(scope, [], [eps])])]);
  const normed = g.op(scope, 'Div', [centred, std]);
  const scaled = g.op(scope, 'Mul', [normed, g.param(scope, 'weight', [d], ONES)]);
  return g.op(scope, 'Add', [scaled, g.param(scope, 'bias', [d], ZEROS)]);
}

export function silu(g: TorchGraph, scope: Scope, x: string): string {
  return g.op(scope, 'Mul', [x, g.op(scope, 'Sigmoid', [x])]);
}

/** Exact GELU: x · ½ · (1 + erf(x / √2)). */
export function gelu(g: TorchGraph, scope: Scope, x: string): string {
  const e = g.op(scope, 'Erf', [g.op(scope, 'Div', [x, g.float(scope, [], [Math.SQRT2])])]);
  const half = g.op(scope, 'Mul', [
    g.op(scope, 'Add', [e, g.float(scope, [], [1])]),
    g.float(scope, [], [0.5]),
  ]);
  return g.op(scope, 'Mul', [x, half]);
}

/** CLIP's quick_gelu: x · σ(1.702 x). */
export function quickGelu(g: TorchGraph, scope: Scope, x: string): string {
  const s = g.op(scope, 'Sigmoid', [g.op(scope, 'Mul', [x, g.float(scope, [], [1.702])])]);
  return g.op(scope, 'Mul', [x, s]);
}

export interface AttentionSpec {
  readonly dim: number;
  readonly contextDim: number;
  readonly heads: number;
  /** Biases on q/k/v (CLIP, VAE) or not (UNet). */
  readonly qkvBias: boolean;
  /** Projection names: diffusers' to_q/…/to_out.0 or CLIP's q_proj/…/out_proj. */
  readonly names: { q: string; k: string; v: string; out: readonly string[] };
  /** Additive mask on the scores ([1, 1, N, M]), e.g. CLIP's causal mask. */
  readonly mask?: string;
}

/** Multi-head scaled dot-product attention of x [B, N, dim] over context [B, M, contextDim]. */
export function attention(g: TorchGraph, scope: Scope, x: string, context: string, s: AttentionSpec): string {
  const dh = s.dim / s.heads;
  const q = linear(g, at(scope, s.names.q), x, s.dim, s.dim, s.qkvBias);
  const k = linear(g, at(scope, s.names.k), context, s.contextDim, s.dim, s.qkvBias);
  const v = linear(g, at(scope, s.names.v), context, s.contextDim, s.dim, s.qkvBias);
  const heads = (t: string) =>
    g.op(
      scope,
      'Transpose',
      [g.op(scope, 'Reshape', [t, g.int64(scope, [0, 0, s.heads, dh])], { allowzero: attr.int(0) })],
      { perm: attr.ints([0, 2, 1, 3]) },
    );
  const kt = g.op(scope, 'Transpose', [heads(k)], { perm: attr.ints([0, 1, 3, 2]) });
  let scores = g.op(scope, 'Mul', [g.op(scope, 'MatMul', [heads(q), kt]), g.float(scope, [], [dh ** -0.5])]);
  if (s.mask) scores = g.op(scope, 'Add', [scores, s.mask]);
  const p = g.op(scope, 'Softmax', [scores], { axis: attr.int(-1) });
  const merged = g.op(
    scope,
    'Reshape',
    [
      g.op(scope, 'Transpose', [g.op(scope, 'MatMul', [p, heads(v)])], { perm: attr.ints([0, 2, 1, 3]) }),
      g.int64(scope, [0, 0, s.dim]),
    ],
    { allowzero: attr.int(0) },
  );
  return linear(g, at(scope, ...s.names.out), merged, s.dim, s.dim, true);
}

/** Feature map [B, C, H, W] → tokens [B, H·W, C]. */
export function toTokens(g: TorchGraph, scope: Scope, x: string, channels: number): string {
  const nhwc = g.op(scope, 'Transpose', [x], { perm: attr.ints([0, 2, 3, 1]) });
  return g.op(scope, 'Reshape', [nhwc, g.int64(scope, [0, -1, channels])], { allowzero: attr.int(0) });
}

/** Tokens [B, H·W, C] → feature map shaped like `like` [B, C, H, W]. */
export function fromTokens(g: TorchGraph, scope: Scope, tokens: string, like: string): string {
  const bcn = g.op(scope, 'Transpose', [tokens], { perm: attr.ints([0, 2, 1]) });
  return g.op(scope, 'Reshape', [bcn, g.op(scope, 'Shape', [like])], { allowzero: attr.int(0) });
}

/**
 * diffusers' ResnetBlock2D: GN → SiLU → conv1 (+ time projection) → GN → SiLU → conv2, plus the input
 * (through a 1×1 conv_shortcut when channels change), divided by output_scale_factor = 1 as exported.
 */
export function resnet(
  g: TorchGraph,
  scope: Scope,
  x: string,
  cin: number,
  cout: number,
  options: { groups: number; eps: number; temb?: { act: string; dim: number } },
): string {
  let h = silu(
    g,
    at(scope, 'nonlinearity'),
    groupNorm(g, at(scope, 'norm1'), x, cin, options.groups, options.eps),
  );
  h = conv(g, at(scope, 'conv1'), h, cin, cout);
  if (options.temb) {
    const t = gemm(g, at(scope, 'time_emb_proj'), options.temb.act, options.temb.dim, cout);
    const t4 = g.op(scope, 'Unsqueeze', [
      g.op(scope, 'Unsqueeze', [t, g.int64(scope, [2])]),
      g.int64(scope, [3]),
    ]);
    h = g.op(scope, 'Add', [h, t4]);
  }
  h = silu(
    g,
    at(scope, 'nonlinearity'),
    groupNorm(g, at(scope, 'norm2'), h, cout, options.groups, options.eps),
  );
  h = conv(g, at(scope, 'conv2'), h, cout, cout);
  const skip = cin === cout ? x : conv(g, at(scope, 'conv_shortcut'), x, cin, cout, { kernel: 1 });
  return g.op(scope, 'Div', [g.op(scope, 'Add', [skip, h]), g.float(scope, [], [1])]);
}
