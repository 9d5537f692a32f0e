// The contract between the gradient graph builder and the per-op rules (one file per op in rules/).
// A rule *emits ONNX nodes* that compute input gradients from output gradients, in the vocabulary of
// onnxruntime's gradient builder: i(k) input, o(k) output, go(k) output gradient, gi(k) input gradient.

import type { Attr, ConstTensor, Dim, OnnxDataType } from '../onnx/typed-values.ts';

// The value types are onnx/'s (typed-values.ts); re-exported as the rules' vocabulary.
export type { Attr, ConstTensor, Dim, OnnxDataType } from '../onnx/typed-values.ts';
export { attr } from '../onnx/typed-values.ts';

/** What a rule sees of the forward node and the graph around it, and how it emits gradient nodes. */
export interface GradContext {
  readonly opType: string;
  /** The forward node's name (for error messages). */
  readonly nodeName: string;
  /** The model's default-domain opset (rules pick e.g. ReduceSum's axes-as-input form from opset 13 on). */
  readonly opset: number;
  readonly inputCount: number;
  readonly outputCount: number;

  /** Name of forward input k ('' when an optional input is absent). */
  i(k: number): string;
  /** Name of forward output k. */
  o(k: number): string;
  /** Name of the gradient flowing into output k, or undefined when no gradient reaches it (treat as zero). */
  go(k: number): string | undefined;
  /** Name the rule must produce as the gradient of input k (only when needs(k)). */
  gi(k: number): string;
  /** Whether the gradient of input k is required (it lies on a path from a trainable input). */
  needs(k: number): boolean;
  /**
   * Optional: the name of forward output k, asking the builder to make the forward node produce an optional output
   * it left out (LayerNormalization's Mean and InvStdDev), so the rule reuses what the forward pass computed instead
   * of recomputing it. Undefined (or absent) when the builder cannot; the rule then recomputes.
   */
  savedOutput?(k: number): string | undefined;
  /**
   * Optional: the one forward node that reads output k (exactly once), with the total gradient of its outputs, so
   * a rule can use an identity of the pair (Softmax feeding attention's MatMul: Σ dy·y = Σ dO·O on the small O).
   * Undefined (or absent) when several nodes read it, it is a graph output, or the builder cannot tell.
   */
  soleConsumer?(k: number): ConsumerView | undefined;
  /**
   * Optional: every forward node reading output k (one view per node), for rules that look through a guard on
   * the way to the node they need (Softmax through SDPA exports' Where(IsNaN(y), 0, y)). Undefined (or absent)
   * when the output is a graph output or the builder cannot tell.
   */
  consumers?(k: number): readonly ConsumerView[] | undefined;

  /** Attribute readers on the forward node; the default is returned when the attribute is absent. */
  attrInt(name: string, fallback?: number): number;
  attrInts(name: string, fallback?: readonly number[]): readonly number[];
  attrFloat(name: string, fallback?: number): number;
  attrString(name: string, fallback?: string): string;
  hasAttr(name: string): boolean;

  /** Static knowledge of a tensor in the forward graph: element type, rank and (where known) dims. */
  dataType(name: string): OnnxDataType;
  rank(name: string): number;
  dims(name: string): readonly Dim[];
  /**
   * Optional: 'reference' when backward nodes must read frozen weights as stored instead of a transposed or
   * flipped copy that onnxruntime would fold into a second constant (GradientGraphOptions.frozenWeights).
   */
  readonly frozenWeights?: 'fold' | 'reference';
  /** The value of a forward tensor when it is a constant (initializer or Constant node), else undefined. */
  constValue(name: string): ConstTensor | undefined;

  /** Emits a node with one output and returns its (fresh, deterministic) name; pass outputs to bind names. */
  emit(
    opType: string,
    inputs: readonly string[],
    attrs?: Readonly<Record<string, Attr>>,
    outputs?: readonly string[],
  ): string;
  /** Emits a node with several outputs and returns their names. */
  emitMulti(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attrs?: Readonly<Record<string, Attr>>,
  ): string[];
  /** A constant tensor in the gradient graph. */
  constant(value: ConstTensor): string;
  /** A scalar constant with the element type of `like` (e.g. 0.5 for a float16 graph). */
  scalarLike(value: number, like: string): string;
  /** An INT64 1-D constant (axes, shapes, starts/ends). */
  int64s(values: readonly number[]): string;
  /** Binds `grad` (shaped like the broadcast result) to `out` after summing away the axes broadcast from `like`. */
  unbroadcast(grad: string, like: string, out: string): void;
  /** Binds `source` to the name `out` (an Identity), for rules whose gradient is an existing tensor. */
  bind(source: string, out: string): void;
}

/** What a rule may see of the node consuming one of its outputs (see GradContext.soleConsumer). */
export interface ConsumerView {
  readonly opType: string;
  /** Which of the consumer's inputs the output is. */
  readonly inputIndex: number;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** An int attribute of the consumer (the fallback when absent). */
  attrInt(name: string, fallback: number): number;
  /** The total gradient of the consumer's output k, or undefined when none reaches it. */
  go(k: number): string | undefined;
  /** The one forward node reading the consumer's output k (as GradContext.soleConsumer), to follow a chain. */
  soleConsumer(k: number): ConsumerView | undefined;
  /** Every forward node reading the consumer's output k (as GradContext.consumers). */
  consumers(k: number): readonly ConsumerView[] | undefined;
}

/** One op's gradient. `build` emits gradients for every needed input, or throws naming the op and node. */
export interface GradRule {
  readonly opType: string;
  /** Inputs that never carry a gradient (shapes, indices, axes); asking for them is an error. */
  readonly nonDifferentiableInputs?: readonly number[];
  build(g: GradContext): void;
}
