// Finds a UNet's attention and feed-forward input projections (nn.Linear layers of its transformer blocks) in an
// ONNX export: TorchScript keeps the module path in node names, dynamo in node metadata. LoRA and Custom
// Diffusion both start here; onnxruntime-fused attention (packed QKV, com.microsoft Attention) is refused.
import type { OnnxGraph, OnnxNode, OnnxTensor } from './model.ts';
import type { NodeMetadata } from './node-metadata.ts';

/** Projections of a diffusers BasicTransformerBlock, in its module order (attn1, attn2, ff). */
export const PROJECTION_KINDS = [
  'attn1.to_q',
  'attn1.to_k',
  'attn1.to_v',
  'attn1.to_out.0',
  'attn2.to_q',
  'attn2.to_k',
  'attn2.to_v',
  'attn2.to_out.0',
  'ff.net.0.proj',
] as const;

export type ProjectionKind = (typeof PROJECTION_KINDS)[number];

/**
 * LoRA target presets: `paper` is cloneofsimo's default that the DVAR paper ran (attention + GEGLU input, 9 per
 * block), `attention` diffusers'/PEFT's convention (the 8 attention projections).
 */
export const LORA_TARGETS = {
  paper: PROJECTION_KINDS,
  attention: PROJECTION_KINDS.slice(0, 8) as readonly ProjectionKind[],
} as const satisfies Record<string, readonly ProjectionKind[]>;

/** Custom Diffusion trains the cross-attention key and value weights. */
export const CUSTOM_DIFFUSION_KINDS: readonly ProjectionKind[] = ['attn2.to_k', 'attn2.to_v'];

/**
 * How the weight initializer is stored: 'in-out' = Wᵀ (TorchScript and dynamo constant-fold the transpose into
 * a MatMul initializer, and Gemm without transB); 'out-in' = PyTorch's W, read through a Transpose node or by a
 * Gemm with transB = 1.
 */
export type WeightLayout = 'in-out' | 'out-in';

export interface Projection {
  /** diffusers module path without wrapper prefix, e.g. down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q. */
  readonly module: string;
  readonly kind: ProjectionKind;
  /** The MatMul (or Gemm) node computing x·Wᵀ. */
  readonly node: string;
  readonly opType: 'MatMul' | 'Gemm';
  /** The activation x (rank ≥ 2 for MatMul, 2 for Gemm). */
  readonly input: string;
  /** The node's output (before any separate bias Add; a Gemm's output includes its bias). */
  readonly output: string;
  /** The initializer holding the weight. */
  readonly weight: string;
  readonly weightLayout: WeightLayout;
  /** The node that reads the weight initializer: `node` itself, or the Transpose in front of it. */
  readonly weightReader: string;
  /** Element type of the weight (and so of the activations): FLOAT, FLOAT16, … */
  readonly dataType: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

export interface FindProjectionsOptions {
  /** metadata_props per node name (node-metadata.ts): how a dynamo export names its modules. */
  readonly nodeMetadata?: NodeMetadata;
}

/** onnxruntime contrib ops that replace per-projection MatMuls (the transformer optimizer's fusions). */
const FUSED_ATTENTION_OPS = new Set([
  'Attention',
  'MultiHeadAttention',
  'PackedAttention',
  'PackedMultiHeadAttention',
  'GroupQueryAttention',
  'DecoderAttention',
  'DecoderMaskedMultiHeadAttention',
  'DecoderMaskedSelfAttention',
  'LongformerAttention',
  'QAttention',
  'SparseAttention',
]);

const BLOCK_START = /(?:^|\.)((?:down_blocks|up_blocks)\.\d+\.|mid_block\.)/;

/** A dotted scope path with any wrapper prefix (`m.`, `unet.`, …) cut before the first UNet block. */
function stripWrapper(path: string): string | undefined {
  const match = BLOCK_START.exec(path);
  if (!match || match.index === undefined) return undefined;
  return path.slice(match.index + (match[0].startsWith('.') ? 1 : 0));
}

/** TorchScript: `/m/down_blocks.1/attentions.0/transformer_blocks.0/attn2/to_k/MatMul` → the module path. */
function moduleFromNodeName(name: string): string | undefined {
  const segments = name.split('/').filter((s) => s !== '');
  if (segments.length < 2) return undefined;
  return stripWrapper(segments.slice(0, -1).join('.'));
}

/** plateau's own builder (models/src/builder): one cross-attention block per level, q/k/v/out and ff1. */
const PLATEAU_NODE = /^unet\.(down(\d+)|mid|up(\d+))\.attn\.(attn\.(q|k|v|out)|ff1)\/MatMul/;
const PLATEAU_KINDS: Readonly<Record<string, ProjectionKind>> = {
  q: 'attn2.to_q',
  k: 'attn2.to_k',
  v: 'attn2.to_v',
  out: 'attn2.to_out.0',
  ff1: 'ff.net.0.proj',
};

/**
 * The embedded model's node names (`unet.down1.attn.attn.q/MatMul_62`) → the diffusers path of the module in the
 * same role. Its blocks have cross-attention only (no attn1), so LoRA there adapts attn2 and the feed-forward.
 */
function moduleFromPlateauName(name: string): string | undefined {
  const m = PLATEAU_NODE.exec(name);
  if (!m) return undefined;
  const kind = PLATEAU_KINDS[m[5] ?? 'ff1'];
  const level = m[2] ?? m[3];
  const block = m[1] === 'mid' ? 'mid_block' : `${m[2] !== undefined ? 'down' : 'up'}_blocks.${level}`;
  return `${block}.attentions.0.transformer_blocks.0.${kind}`;
}

/** Python list repr of strings (`['', 'm', 'm.down_blocks.1']`) → its items. */
function parseScopes(text: string): string[] {
  return [...text.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2] ?? '');
}

/** dynamo: the innermost name scope that is a projection module (the last one is the aten call, e.g. linear_5). */
function moduleFromMetadata(meta: Readonly<Record<string, string>> | undefined): string | undefined {
  const scopes = meta?.['pkg.torch.onnx.name_scopes'];
  const candidates = scopes
    ? parseScopes(scopes)
    : (meta?.namespace ?? '')
        .split('/')
        .map((part) => part.split(':')[0]?.trim() ?? '')
        .filter((s) => s !== '');
  for (let i = candidates.length - 1; i >= 0; i--) {
    const path = stripWrapper(candidates[i] ?? '');
    if (path && kindOf(path)) return path;
  }
  return undefined;
}

/** The projection kind a module path ends with, if any. */
export function kindOf(module: string): ProjectionKind | undefined {
  return PROJECTION_KINDS.find((k) => module.endsWith(`.${k}`));
}

function attrInt(node: OnnxNode, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a?.type === 'int' ? a.value : fallback;
}

function attrFloat(node: OnnxNode, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a?.type === 'float' ? a.value : fallback;
}

interface WeightForm {
  readonly tensor: OnnxTensor;
  readonly layout: WeightLayout;
  readonly reader: string;
}

/** The weight of a Linear-shaped MatMul/Gemm, or undefined when the node is not one (e.g. attention's Q·Kᵀ). */
function linearWeight(
  node: OnnxNode,
  inits: ReadonlyMap<string, OnnxTensor>,
  producers: ReadonlyMap<string, OnnxNode>,
): WeightForm | undefined {
  const b = node.inputs[1] ?? '';
  const direct = inits.get(b);
  if (node.opType === 'Gemm') {
    // A Linear as Gemm: y = x·Wᵀ + c with alpha 1 and x not transposed (anything else is not an nn.Linear).
    if (direct?.dims.length !== 2) return undefined;
    if (attrInt(node, 'transA', 0) !== 0 || attrFloat(node, 'alpha', 1) !== 1) return undefined;
    return {
      tensor: direct,
      layout: attrInt(node, 'transB', 0) === 1 ? 'out-in' : 'in-out',
      reader: node.name,
    };
  }
  if (direct)
    return direct.dims.length === 2 ? { tensor: direct, layout: 'in-out', reader: node.name } : undefined;
  const transpose = producers.get(b);
  if (transpose?.opType !== 'Transpose') return undefined;
  const source = inits.get(transpose.inputs[0] ?? '');
  const perm = transpose.attributes.perm;
  const swaps = perm === undefined || (perm.type === 'ints' && perm.value.join(',') === '1,0');
  if (source?.dims.length !== 2 || !swaps) return undefined;
  return { tensor: source, layout: 'out-in', reader: transpose.name };
}

function refuseFused(graph: OnnxGraph): void {
  const fused = new Map<string, number>();
  for (const n of graph.nodes) {
    const contrib = n.domain !== '' && n.domain !== 'ai.onnx';
    if (contrib && FUSED_ATTENTION_OPS.has(n.opType)) {
      const key = `${n.opType} (${n.domain})`;
      fused.set(key, (fused.get(key) ?? 0) + 1);
    }
  }
  if (fused.size === 0) return;
  const found = [...fused.entries()].map(([k, c]) => `${c} × ${k}`).join(', ');
  throw new Error(
    `the UNet's attention was fused by onnxruntime's optimizer (found ${found}): its per-projection MatMuls ` +
      '(to_q/to_k/to_v packed into one weight) are gone, so LoRA and Custom Diffusion cannot be attached. ' +
      'Use an export without onnxruntime transformer optimizations (e.g. optimum without --optimize, or the ' +
      'plain torch.onnx.export output).',
  );
}

/** Order key of a module path: down_blocks < mid_block < up_blocks, numbers numerically, kinds in block order. */
function compareModules(a: Projection, b: Projection): number {
  const blockRank = (s: string) => (s.startsWith('down') ? 0 : s.startsWith('mid') ? 1 : 2);
  const prefix = (p: Projection) => p.module.slice(0, p.module.length - p.kind.length - 1).split('.');
  const pa = prefix(a);
  const pb = prefix(b);
  const rank = blockRank(pa[0] ?? '') - blockRank(pb[0] ?? '');
  if (rank !== 0) return rank;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const nx = /^\d+$/.test(x) ? Number(x) : Number.NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : Number.NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return PROJECTION_KINDS.indexOf(a.kind) - PROJECTION_KINDS.indexOf(b.kind);
}

/**
 * Every projection of the requested kinds, in diffusers module order. Throws when the graph's attention was
 * fused, when module paths are neither in node names nor in the given metadata, when a module appears twice, or
 * when a transformer block lacks a requested kind (a partly fused or unusual export).
 */
export function findProjections(
  unet: OnnxGraph,
  kinds: readonly ProjectionKind[],
  options: FindProjectionsOptions = {},
): Projection[] {
  refuseFused(unet);
  const wanted = new Set(kinds);
  const inits = new Map(unet.initializers.map((t) => [t.name, t]));
  const producers = new Map<string, OnnxNode>();
  for (const n of unet.nodes) for (const o of n.outputs) if (o) producers.set(o, n);
  const found = new Map<string, Projection>();
  let linearNodes = 0;
  let plateauNamed = false;
  for (const n of unet.nodes) {
    if (n.opType !== 'MatMul' && n.opType !== 'Gemm') continue;
    if (n.domain !== '' && n.domain !== 'ai.onnx') continue;
    const weight = linearWeight(n, inits, producers);
    if (!weight) continue;
    linearNodes++;
    const named = moduleFromNodeName(n.name);
    const plateau = moduleFromPlateauName(n.name);
    if (plateau) plateauNamed = true;
    const module =
      (named && kindOf(named) ? named : undefined) ??
      plateau ??
      moduleFromMetadata(options.nodeMetadata?.get(n.name));
    const kind = module ? kindOf(module) : undefined;
    if (!module || !kind || !wanted.has(kind)) continue;
    const [d0, d1] = weight.tensor.dims as [number, number];
    const [inFeatures, outFeatures] = weight.layout === 'in-out' ? [d0, d1] : [d1, d0];
    const projection: Projection = {
      module,
      kind,
      node: n.name,
      opType: n.opType,
      input: n.inputs[0] ?? '',
      output: n.outputs[0] ?? '',
      weight: weight.tensor.name,
      weightLayout: weight.layout,
      weightReader: weight.reader,
      dataType: weight.tensor.dataType,
      inFeatures,
      outFeatures,
    };
    const previous = found.get(module);
    if (previous) {
      throw new Error(`module '${module}' found twice (nodes '${previous.node}' and '${n.name}')`);
    }
    found.set(module, projection);
  }
  const list = [...found.values()];
  if (list.length === 0) {
    const hint =
      linearNodes > 0 && !options.nodeMetadata
        ? ' Node names carry no module paths; for a dynamo export pass nodeMetadata: loadNodeMetadata(<unet model.onnx>).'
        : '';
    throw new Error(
      `no UNet projections of kinds ${kinds.join(', ')} found (${linearNodes} Linear-shaped nodes).${hint}`,
    );
  }
  // plateau's own model has no self-attention at all: the kinds it lacks everywhere are not a partial export.
  checkComplete(list, plateauNamed ? kinds.filter((k) => list.some((p) => p.kind === k)) : kinds);
  return list.sort(compareModules);
}

/** Every transformer block found must have every requested kind, else training would silently skip some. */
function checkComplete(list: readonly Projection[], kinds: readonly ProjectionKind[]): void {
  const blocks = new Map<string, Set<ProjectionKind>>();
  for (const p of list) {
    const block = p.module.slice(0, p.module.length - p.kind.length - 1);
    const set = blocks.get(block) ?? new Set<ProjectionKind>();
    set.add(p.kind);
    blocks.set(block, set);
  }
  for (const [block, have] of blocks) {
    const missing = kinds.filter((k) => !have.has(k));
    if (missing.length > 0) {
      throw new Error(
        `transformer block '${block}' has no ${missing.join(', ')} projection as a MatMul/Gemm with a weight ` +
          'initializer (a packed-QKV or otherwise fused export?)',
      );
    }
  }
}
