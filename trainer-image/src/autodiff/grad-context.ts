// The GradContext one rule sees for one forward node: the node's inputs, outputs and attributes, the gradients
// reaching its outputs, static knowledge, and emission under the prefix `grad/<node>` into the shared graph.
import type { OnnxNode } from '../onnx/model.ts';
import { inferNode } from '../onnx/shape-inference.ts';
import type { BackwardState } from './backward-state.ts';
import type { GradContext, GradRule } from './grad-rule.ts';
import { emitUnbroadcast } from './unbroadcast.ts';

/** What a rule emitted for its node: the gradient name handed out per input, and every output it bound. */
export interface NodeGradients {
  readonly giNames: Map<number, string>;
  readonly produced: Set<string>;
}

/** Ops whose optional trailing outputs a rule may ask the forward node to produce (savedOutput). */
const OPTIONAL_OUTPUTS: Readonly<Record<string, number>> = { LayerNormalization: 3, Dropout: 2 };

/** `goNames[k]`: the gradient reaching output k. Records in `out` what the rule emits. */
export function gradContext(
  node: OnnxNode,
  rule: GradRule,
  goNames: readonly (string | undefined)[],
  s: BackwardState,
  out: NodeGradients,
): GradContext {
  const { emitter } = s;
  const prefix = `grad/${node.name}`;
  const nonDiff = rule.nonDifferentiableInputs ?? [];
  const needs = (k: number): boolean => {
    const name = node.inputs[k];
    return !!name && s.path.relevant(name) && !nonDiff.includes(k);
  };
  const bound = (outs: string[]): string[] => {
    for (const o of outs) out.produced.add(o);
    return outs;
  };
  return {
    opType: node.opType,
    nodeName: node.name,
    opset: emitter.opset,
    inputCount: node.inputs.length,
    outputCount: node.outputs.length,
    i: (k) => node.inputs[k] ?? '',
    o: (k) => node.outputs[k] ?? '',
    go: (k) => goNames[k],
    savedOutput: (k) => savedOutput(node, k, s),
    soleConsumer: (k) => s.readers.sole(node.outputs[k]),
    consumers: (k) => s.readers.all(node.outputs[k]),
    gi: (k) => inputGradientName(node, k, needs, s, out),
    needs,
    ...nodeAttributes(node),
    dataType: (name) => emitter.infoOf(name, node).dataType,
    rank: (name) => emitter.dimsOf(name, node).length,
    dims: (name) => emitter.dimsOf(name, node),
    constValue: (name) => s.constValueOf(name),
    frozenWeights: s.frozenWeights,
    emit: (opType, inputs, attrs, outputs) =>
      bound(emitter.emit(prefix, opType, inputs, 1, attrs, outputs))[0] ?? '',
    emitMulti: (opType, inputs, outputCount, attrs) =>
      bound(emitter.emit(prefix, opType, inputs, outputCount, attrs)),
    constant: (value) => emitter.constant(value),
    scalarLike: (value, like) =>
      emitter.constant({ dataType: emitter.infoOf(like, node).dataType, dims: [], values: [value] }),
    int64s: (values) => emitter.int64s(values),
    unbroadcast: (grad, like, output) => {
      emitUnbroadcast({ emitter, node, prefix }, grad, like, output);
      out.produced.add(output);
    },
    bind: (source, output) => {
      bound(emitter.emit(prefix, 'Identity', [source], 1, undefined, [output]));
    },
  };
}

/** The name the rule must bind as input k's gradient: fresh on first ask, the same afterwards. */
function inputGradientName(
  node: OnnxNode,
  k: number,
  needs: (k: number) => boolean,
  s: BackwardState,
  out: NodeGradients,
): string {
  if (!needs(k)) {
    throw new Error(
      `${node.opType} node '${node.name}': gradient of input ${k} is not needed or not defined`,
    );
  }
  let name = out.giNames.get(k);
  if (!name) {
    name = s.emitter.fresh(`grad/${node.name}/d_input${k}`);
    out.giNames.set(k, name);
  }
  return name;
}

/**
 * Output k of the forward node, asking the node to produce it when it is an optional output it left out
 * (the node is replaced in the forward graph by one listing it); undefined when the op has no such output.
 */
function savedOutput(node: OnnxNode, k: number, s: BackwardState): string | undefined {
  const { nodes, nodeIndex, info, opset } = s.forward;
  const current = nodes[nodeIndex.get(node.name) ?? -1] ?? node;
  const existing = current.outputs[k];
  if (existing) return existing;
  if (k >= (OPTIONAL_OUTPUTS[node.opType] ?? 0)) return undefined;
  const name = s.emitter.fresh(`${node.name}/saved_output${k}`);
  const outs = Array.from(
    { length: Math.max(current.outputs.length, k + 1) },
    (_, j) => current.outputs[j] ?? '',
  );
  outs[k] = name;
  const replaced: OnnxNode = { ...current, outputs: outs };
  const at = nodeIndex.get(node.name);
  if (at !== undefined) nodes[at] = replaced;
  const inferred = inferNode(replaced, info, opset)[k];
  if (inferred) info.set(name, inferred);
  return name;
}

type Valued = { int: number; ints: readonly number[]; float: number; string: string };

/** The attribute readers of GradContext on `node`; a missing attribute without a fallback is an error. */
function nodeAttributes(
  node: OnnxNode,
): Pick<GradContext, 'attrInt' | 'attrInts' | 'attrFloat' | 'attrString' | 'hasAttr'> {
  const read = <K extends keyof Valued>(
    type: K,
    name: string,
    fallback: Valued[K] | undefined,
  ): Valued[K] => {
    const a = node.attributes[name];
    if (a?.type === type) return a.value as Valued[K];
    if (fallback === undefined)
      throw new Error(`${node.opType} node '${node.name}': missing ${type} attribute '${name}'`);
    return fallback;
  };
  return {
    attrInt: (name, fallback) => read('int', name, fallback),
    attrInts: (name, fallback) => read('ints', name, fallback),
    attrFloat: (name, fallback) => read('float', name, fallback),
    attrString: (name, fallback) => read('string', name, fallback),
    hasAttr: (name) => name in node.attributes,
  };
}
