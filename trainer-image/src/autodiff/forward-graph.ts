// The forward graph as the gradient builder reads it: wrt tensors turned into graph inputs, every node named and
// in topological order, and the static dtype/rank/dims of every tensor from onnx/shape-inference.ts.
import {
  defaultOpset,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type ValueInfo,
} from '../onnx/model.ts';
import { type InfoMap, inferShapes } from '../onnx/shape-inference.ts';

export interface ForwardGraph {
  /** The model's default-domain opset. */
  readonly opset: number;
  /** Named, topologically ordered; savedOutput may replace a node by one producing an optional output. */
  readonly nodes: OnnxNode[];
  readonly nodeIndex: ReadonlyMap<string, number>;
  /** The graph inputs, wrt initializers included. */
  readonly inputs: readonly ValueInfo[];
  /** The initializers left (wrt ones removed), by name and in order. */
  readonly initializers: ReadonlyMap<string, OnnxTensor>;
  readonly initList: readonly OnnxTensor[];
  /** Names of the graph inputs and initializers. */
  readonly available: ReadonlySet<string>;
  /** Static knowledge per tensor; the builder extends it over every node it emits. */
  readonly info: InfoMap;
}

/** Step 1 of buildGradientGraph: wrt tensors become graph inputs; nodes are named and ordered; shapes inferred. */
export function prepareForward(model: OnnxModel, wrt: readonly string[]): ForwardGraph {
  const graph = model.graph;
  const opset = defaultOpset(model);
  const initializers = new Map(graph.initializers.map((t) => [t.name, t]));
  const inputs: ValueInfo[] = [...graph.inputs];
  for (const w of wrt) {
    const init = initializers.get(w);
    if (init) {
      initializers.delete(w);
      const existing = inputs.findIndex((v) => v.name === w);
      const info: ValueInfo = { name: w, dataType: init.dataType, dims: [...init.dims] };
      if (existing >= 0) inputs[existing] = info;
      else inputs.push(info);
    } else if (!inputs.some((v) => v.name === w)) {
      throw new Error(`wrt '${w}' is neither a graph input nor an initializer`);
    }
  }
  const initList = [...initializers.values()];
  const available = new Set<string>([...inputs.map((v) => v.name), ...initList.map((t) => t.name)]);
  const nodes = topologicalOrder(nameNodes(graph.nodes), available);
  const nodeIndex = new Map(nodes.map((n, i) => [n.name, i]));
  const info = inferShapes({ ...graph, nodes, inputs, initializers: initList }, opset);
  return { opset, nodes, nodeIndex, inputs, initializers, initList, available, info };
}

/** Orders nodes so every input is produced before use (ONNX requires it; we check rather than trust). */
export function topologicalOrder(nodes: readonly OnnxNode[], available: ReadonlySet<string>): OnnxNode[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o) producer.set(o, i);
  });
  if (isOrdered(nodes, available, producer)) return [...nodes];
  const state = new Uint8Array(nodes.length);
  const out: OnnxNode[] = [];
  nodes.forEach((_, i) => {
    if (state[i] === 0) visitInputsFirst(nodes, i, producer, state, out);
  });
  return out;
}

function isOrdered(
  nodes: readonly OnnxNode[],
  available: ReadonlySet<string>,
  producer: ReadonlyMap<string, number>,
): boolean {
  const seen = new Set<string>(available);
  for (const n of nodes) {
    for (const i of n.inputs) if (i && !seen.has(i) && producer.has(i)) return false;
    for (const o of n.outputs) seen.add(o);
  }
  return true;
}

/** Iterative depth-first post-order from node `start` (state: 0 new, 1 on the stack, 2 emitted). */
function visitInputsFirst(
  nodes: readonly OnnxNode[],
  start: number,
  producer: ReadonlyMap<string, number>,
  state: Uint8Array,
  out: OnnxNode[],
): void {
  const stack: [number, number][] = [[start, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (!top) break;
    const [idx, k] = top;
    const node = nodes[idx];
    if (!node) break;
    if (k === 0) {
      if (state[idx] === 2) {
        stack.pop();
        continue;
      }
      state[idx] = 1;
    }
    if (k < node.inputs.length) {
      top[1] = k + 1;
      const p = producer.get(node.inputs[k] ?? '');
      if (p !== undefined && state[p] === 0) stack.push([p, 0]);
      else if (p !== undefined && state[p] === 1)
        throw new Error(`graph has a cycle through node '${node.name}'`);
      continue;
    }
    state[idx] = 2;
    out.push(node);
    stack.pop();
  }
}

/** Gives every node a unique non-empty name (exports sometimes leave them empty). */
function nameNodes(nodes: readonly OnnxNode[]): OnnxNode[] {
  const used = new Set<string>();
  return nodes.map((n, i) => {
    let name = n.name || `${n.opType}_${i}`;
    while (used.has(name)) name = `${name}_${i}`;
    used.add(name);
    return name === n.name ? n : { ...n, name };
  });
}
