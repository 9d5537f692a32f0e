// Estimates what one run of a graph holds at its peak, from static shapes alone: the weights, plus the largest
// sum of live intermediate tensors when the nodes run in order (a tensor lives from its producer to its last
// consumer — in a training graph the forward activations the backward pass reads are what stays live).
import { elementCount, elementSize, type OnnxGraph } from './model.ts';
import { inferShapes } from './shape-inference.ts';

export interface MemoryEstimate {
  /** Bytes of every initializer (inline or external). */
  readonly weightBytes: number;
  /** The peak of live intermediate bytes over the node order. */
  readonly peakActivationBytes: number;
  /** Intermediate tensors whose size static shapes cannot tell (counted as zero). */
  readonly unknownTensors: number;
}

/**
 * `inputDims` fixes the graph inputs' dims (batch, latent size) so every activation has a known size; graph
 * inputs themselves are counted as live activations, initializers as weights.
 */
export function estimateMemory(
  graph: OnnxGraph,
  opset: number,
  inputDims: Readonly<Record<string, readonly number[]>>,
): MemoryEstimate {
  const fixed: OnnxGraph = {
    ...graph,
    inputs: graph.inputs.map((v) => (inputDims[v.name] ? { ...v, dims: [...(inputDims[v.name] ?? [])] } : v)),
  };
  const info = inferShapes(fixed, opset);
  const weights = new Set(graph.initializers.map((t) => t.name));
  const weightBytes = graph.initializers.reduce(
    (s, t) => s + elementCount(t.dims) * elementSize(t.dataType),
    0,
  );
  let unknownTensors = 0;
  const bytes = (name: string): number => {
    const t = info.get(name);
    if (!t?.dims || t.dims.some((d) => typeof d !== 'number')) {
      unknownTensors++;
      return 0;
    }
    return elementCount(t.dims as number[]) * elementSize(t.dataType);
  };
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    for (const x of n.inputs) if (x) lastUse.set(x, i);
  });
  for (const o of graph.outputs) lastUse.set(o.name, graph.nodes.length);
  const size = new Map<string, number>();
  let live = 0;
  for (const v of graph.inputs) {
    if (weights.has(v.name)) continue;
    const b = bytes(v.name);
    size.set(v.name, b);
    live += b;
  }
  let peak = live;
  graph.nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (!o || size.has(o)) continue;
      const b = bytes(o);
      size.set(o, b);
      live += b;
    }
    peak = Math.max(peak, live);
    for (const x of new Set([...n.inputs, ...n.outputs])) {
      if (!x || weights.has(x) || lastUse.get(x) !== i) continue;
      // A tensor nobody reads after node i (or an output no node reads) is freed once node i is done.
      live -= size.get(x) ?? 0;
      size.set(x, 0);
    }
    for (const o of n.outputs) {
      if (o && !lastUse.has(o)) {
        live -= size.get(o) ?? 0;
        size.set(o, 0);
      }
    }
  });
  return { weightBytes, peakActivationBytes: peak, unknownTensors };
}
