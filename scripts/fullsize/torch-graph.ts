// Emits ONNX nodes and parameters named the way PyTorch's TorchScript exporter names them: nodes after their
// module path (`/m/down_blocks.0/attentions.0/transformer_blocks.0/attn2/to_k/MatMul`, `…/Reshape_1`), outputs
// `<node>_output_0`, conv/norm/bias parameters by dotted path, Linear weights as anonymous `onnx::MatMul_N` [in, out].
import type { Attr, ConstTensor } from '../../trainer-image/src/autodiff/grad-rule.ts';
import { toOnnxAttributes } from '../../trainer-image/src/onnx/graph-builder.ts';
import type { OnnxNode, OnnxTensor, ValueInfo } from '../../trainer-image/src/onnx/model.ts';
import { DataType, type OnnxModel } from '../../trainer-image/src/onnx/model.ts';
import type { WeightFile, WeightInit } from './weight-file.ts';

/** A module path: ['down_blocks.0', 'attentions.0', 'transformer_blocks.0', 'attn2', 'to_k']. */
export type Scope = readonly string[];

export const OPSET = 14;

export class TorchGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  /** The compute dtype (FLOAT or FLOAT16): the weights' and the float activations' type. */
  readonly dtype: number;
  private readonly weights: WeightFile;
  private readonly root: string | undefined;
  private readonly opCounts = new Map<string, number>();
  private anonymous: number;

  /**
   * @param root the exported wrapper module's name ('m' in UNet/VAE exports: names start `/m/…`, `m.…`), or
   *   undefined for a bare module (the CLIP text encoder: `/layers.0/…`, `layers.0.q_proj.bias`)
   * @param firstAnonymous the first `onnx::…_N` number (exporters count on from the graph's value ids)
   */
  constructor(weights: WeightFile, root: string | undefined, firstAnonymous: number) {
    this.weights = weights;
    this.dtype = weights.dataType;
    this.root = root;
    this.anonymous = firstAnonymous;
  }

  /** One node; its name follows the scope (`/a/b/Op`, then `/a/b/Op_1`…); returns its first output. */
  op(scope: Scope, opType: string, inputs: readonly string[], attrs?: Record<string, Attr>): string {
    const path = this.nodePath(scope);
    const key = `${path}/${opType}`;
    const seen = this.opCounts.get(key) ?? 0;
    this.opCounts.set(key, seen + 1);
    const name = seen === 0 ? key : `${key}_${seen}`;
    const output = `${name}_output_0`;
    this.nodes.push({
      name,
      opType,
      domain: '',
      inputs: [...inputs],
      outputs: [output],
      attributes: toOnnxAttributes(attrs),
    });
    return output;
  }

  /** A Constant node holding `value` (TorchScript exports inline every constant this way). */
  constant(scope: Scope, value: ConstTensor): string {
    return this.op(scope, 'Constant', [], { value: { type: 'tensor', value } });
  }

  /** A float constant in the compute dtype. */
  float(scope: Scope, dims: readonly number[], values: readonly number[]): string {
    return this.constant(scope, { dataType: this.dtype, dims, values });
  }

  int64(scope: Scope, values: readonly number[]): string {
    return this.constant(scope, {
      dataType: DataType.INT64,
      dims: [values.length],
      values: values.map((v) => BigInt(v)),
    });
  }

  /** A parameter named by its module path (`m.down_blocks.0.resnets.0.conv1.weight`). */
  param(scope: Scope, leaf: string, dims: readonly number[], init: WeightInit): string {
    const name = [...(this.root ? [this.root] : []), ...scope, leaf].join('.');
    this.initializers.push(this.weights.add(name, dims, init));
    return name;
  }

  /** An anonymous parameter (`onnx::MatMul_9099`): what the exporter makes of a transposed Linear weight. */
  anonymousParam(kind: string, dims: readonly number[], init: WeightInit): string {
    const name = `onnx::${kind}_${this.anonymous++}`;
    this.initializers.push(this.weights.add(name, dims, init));
    return name;
  }

  /** Gives the node producing `from` the graph output name `to` (exports name the last node's output so). */
  renameOutput(from: string, to: string): void {
    const i = this.nodes.findIndex((n) => n.outputs.includes(from));
    const node = this.nodes[i];
    if (!node) throw new Error(`no node produces '${from}'`);
    this.nodes[i] = { ...node, outputs: node.outputs.map((o) => (o === from ? to : o)) };
  }

  model(inputs: readonly ValueInfo[], outputs: readonly ValueInfo[], name: string): OnnxModel {
    return {
      irVersion: 7,
      opsetImports: [{ domain: '', version: OPSET }],
      producerName: 'pytorch',
      producerVersion: '1.13.0',
      graph: { name, nodes: this.nodes, initializers: this.initializers, inputs, outputs, valueInfo: [] },
      functions: [],
      metadata: {},
    };
  }

  private nodePath(scope: Scope): string {
    const parts = [...(this.root ? [this.root] : []), ...scope];
    return parts.length === 0 ? '' : `/${parts.join('/')}`;
  }
}
