// Emits the gradient graph's nodes and constants: fresh deterministic names (derived from node names and
// counters, so equal inputs give equal bytes), constants deduplicated by value, and static knowledge extended
// over every emitted node with onnx/shape-inference.ts's per-op rules.
import { toOnnxAttributes } from '../onnx/graph-builder.ts';
import type { OnnxNode, OnnxTensor } from '../onnx/model.ts';
import { type InfoMap, inferNode, type TensorInfo } from '../onnx/shape-inference.ts';
import { constToTensor } from '../onnx/tensor-values.ts';
import type { Attr, ConstTensor, Dim } from '../onnx/typed-values.ts';

export class GradientEmitter {
  /** The emitted gradient nodes, in emission order. */
  readonly nodes: OnnxNode[] = [];
  /** The emitted constants. */
  readonly initializers: OnnxTensor[] = [];
  private readonly taken: Set<string>;
  private readonly producers = new Map<string, OnnxNode>();
  private readonly constCache = new Map<string, string>();

  /** Static knowledge per tensor, extended over every emitted node. */
  readonly info: InfoMap;
  readonly opset: number;

  /** `taken`: every name the forward graph already uses. */
  constructor(info: InfoMap, opset: number, taken: Iterable<string>) {
    this.info = info;
    this.opset = opset;
    this.taken = new Set(taken);
  }

  /** `base`, or `base_k` with the first k that is still free; the name is then taken. */
  fresh(base: string): string {
    let name = base;
    let k = 1;
    while (this.taken.has(name)) name = `${base}_${k++}`;
    this.taken.add(name);
    return name;
  }

  /** The emitted node producing `name`, if any. */
  producerOf(name: string): OnnxNode | undefined {
    return this.producers.get(name);
  }

  /** Emits one node named `<prefix>/<opType>_node…`; outputs are fresh `<prefix>/<opType>…` unless given. */
  emit(
    prefix: string,
    opType: string,
    inputs: readonly string[],
    outCount: number,
    attrs?: Readonly<Record<string, Attr>>,
    outputs?: readonly string[],
  ): string[] {
    const outs = outputs
      ? [...outputs]
      : Array.from({ length: outCount }, () => this.fresh(`${prefix}/${opType}`));
    for (const o of outs) this.taken.add(o);
    this.push({
      name: this.fresh(`${prefix}/${opType}_node`),
      opType,
      domain: '',
      inputs: [...inputs],
      outputs: outs,
      attributes: toOnnxAttributes(attrs),
    });
    return outs;
  }

  private push(node: OnnxNode): void {
    this.nodes.push(node);
    for (const o of node.outputs) if (o) this.producers.set(o, node);
    const results = inferNode(node, this.info, this.opset);
    node.outputs.forEach((o, k) => {
      const r = results[k];
      if (r) this.info.set(o, r);
    });
  }

  /** A constant initializer (one per distinct value), with its values known to shape inference when small. */
  constant(value: ConstTensor): string {
    const key = `${value.dataType}|${value.dims.join(',')}|${value.values.join(',')}`;
    const cached = this.constCache.get(key);
    if (cached) return cached;
    const name = this.fresh(`grad/const_${this.constCache.size}`);
    this.constCache.set(key, name);
    this.initializers.push(constToTensor(name, value));
    const small = value.dims.length <= 1 && value.values.length <= 64;
    const isInt = value.dataType === 7 || value.dataType === 6;
    const numbers = () => (value.values as readonly (number | bigint)[]).map((v) => Number(v));
    const entry: TensorInfo = {
      dataType: value.dataType,
      dims: [...value.dims],
      ...(small && isInt ? { sym: numbers() } : {}),
      ...(small && !isInt ? { floats: numbers() } : {}),
    };
    this.info.set(name, entry);
    return name;
  }

  /** An INT64 1-D constant (axes, shapes, starts/ends). */
  int64s(values: readonly number[]): string {
    return this.constant({ dataType: 7, dims: [values.length], values: values.map((v) => BigInt(v)) });
  }

  /** The static type of `name`, or an error naming the tensor and the node whose rule asked. */
  infoOf(name: string, node: OnnxNode): TensorInfo {
    const i = this.info.get(name);
    if (!i || i.dataType === 0) {
      throw new Error(`no static type for tensor '${name}' (at ${node.opType} node '${node.name}')`);
    }
    return i;
  }

  dimsOf(name: string, node: OnnxNode): readonly Dim[] {
    const d = this.infoOf(name, node).dims;
    if (!d) throw new Error(`unknown rank of tensor '${name}' (at ${node.opType} node '${node.name}')`);
    return d;
  }
}
