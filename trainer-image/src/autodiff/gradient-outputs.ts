// The gradient graph's outputs and its final clean-up: the loss, one `grad_<name>` per requested gradient and the
// extra forward outputs; then bound Identities renamed away and everything the outputs do not need pruned.
import type { OnnxNode, OnnxTensor, ValueInfo } from '../onnx/model.ts';
import type { TensorInfo } from '../onnx/shape-inference.ts';
import type { GradientEmitter } from './emitter.ts';
import type { GradientSum } from './gradient-sum.ts';

export interface GradientOutputs {
  readonly outputs: ValueInfo[];
  /** Requested name → the name of its gradient output. */
  readonly gradients: Record<string, string>;
}

/** Step 7: the loss, then `grad_<w>` for each of `requested` (wrt, then intermediates), then `extras`. */
export function wireOutputs(
  loss: { readonly name: string; readonly info: TensorInfo },
  requested: readonly string[],
  extras: readonly string[],
  emitter: GradientEmitter,
  sums: GradientSum,
): GradientOutputs {
  const gradients: Record<string, string> = {};
  const outputs: ValueInfo[] = [{ name: loss.name, dataType: loss.info.dataType, dims: loss.info.dims }];
  for (const w of requested) {
    const g = sums.gradientOf(w);
    if (!g) throw new Error(`'${w}' is not on any path to '${loss.name}'`);
    const name = emitter.fresh(`grad_${w}`);
    emitter.emit('grad/out', 'Identity', [g], 1, undefined, [name]);
    gradients[w] = name;
    const wi = emitter.info.get(w);
    outputs.push({ name, dataType: wi?.dataType ?? 0, dims: wi?.dims });
  }
  for (const extra of extras) {
    const ei = emitter.info.get(extra);
    outputs.push({ name: extra, dataType: ei?.dataType ?? 0, dims: ei?.dims });
  }
  return { outputs, gradients };
}

/**
 * Step 8a: drops the gradient nodes' Identities (rules' bind, no-op unbroadcast) by renaming their uses to
 * the Identity's source; an Identity producing a graph output stays.
 */
export function dropIdentities(gradNodes: readonly OnnxNode[], outputNames: ReadonlySet<string>): OnnxNode[] {
  const alias = new Map<string, string>();
  const resolve = (name: string): string => {
    let current = name;
    for (let next = alias.get(current); next !== undefined; next = alias.get(current)) current = next;
    return current;
  };
  for (const n of gradNodes) {
    const [source] = n.inputs;
    const [target] = n.outputs;
    if (n.opType === 'Identity' && source && target && !outputNames.has(target)) alias.set(target, source);
  }
  return gradNodes
    .filter((n) => !(n.opType === 'Identity' && alias.has(n.outputs[0] ?? '')))
    .map((n) => (n.inputs.some((x) => alias.has(x)) ? { ...n, inputs: n.inputs.map(resolve) } : n));
}

/** Step 8b: keeps only the nodes, initializers and inputs the outputs need (wrt inputs always stay). */
export function pruneToOutputs(
  nodes: readonly OnnxNode[],
  initializers: readonly OnnxTensor[],
  inputs: readonly ValueInfo[],
  outputs: readonly ValueInfo[],
  wrt: readonly string[],
): { nodes: OnnxNode[]; initializers: OnnxTensor[]; inputs: ValueInfo[] } {
  const needed = new Set(outputs.map((o) => o.name));
  const keep: boolean[] = new Array(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n?.outputs.some((o) => needed.has(o))) {
      keep[i] = true;
      for (const x of n.inputs) if (x) needed.add(x);
    }
  }
  return {
    nodes: nodes.filter((_, i) => keep[i]),
    initializers: initializers.filter((t) => needed.has(t.name)),
    inputs: inputs.filter((v) => needed.has(v.name) || wrt.includes(v.name)),
  };
}
