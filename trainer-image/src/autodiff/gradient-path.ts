// Which forward nodes need gradient nodes: those on a wrt → loss path. A tensor is on the path when it varies
// with wrt (through differentiable inputs of ops that pass gradients) and the loss depends on it.
import type { OnnxNode } from '../onnx/model.ts';
import type { GradRule } from './grad-rule.ts';
import type { GradRegistry } from './registry.ts';

export interface GradientPath {
  /** Whether a tensor lies on a wrt → loss path. */
  relevant(name: string): boolean;
  ruleOf(node: OnnxNode): GradRule | undefined;
  /** The path's nodes in forward order; every one has a rule. */
  readonly onPath: readonly OnnxNode[];
}

/** Steps 2 and 3 of buildGradientGraph; throws when the loss does not vary or a path node has no rule. */
export function findGradientPath(
  nodes: readonly OnnxNode[],
  registry: GradRegistry,
  loss: string,
  wrt: readonly string[],
): GradientPath {
  const ruleOf = (n: OnnxNode): GradRule | undefined => registry.get(n.opType);
  const differentiable = (n: OnnxNode, k: number): boolean => {
    const rule = ruleOf(n);
    return !(rule?.nonDifferentiableInputs ?? []).includes(k);
  };
  const varying = varyingTensors(nodes, registry, wrt, differentiable);
  if (!varying.has(loss)) {
    throw new Error(`loss '${loss}' does not depend on any of ${wrt.map((w) => `'${w}'`).join(', ')}`);
  }
  const ancestors = lossAncestors(nodes, loss);
  const relevant = (name: string): boolean => varying.has(name) && ancestors.has(name);
  const onPath = nodes.filter(
    (n) =>
      !registry.isNonDifferentiable(n.opType) &&
      n.outputs.some((o) => relevant(o)) &&
      n.inputs.some((x, k) => x && relevant(x) && differentiable(n, k)),
  );
  for (const n of onPath) {
    if (!ruleOf(n))
      throw new Error(`no gradient rule for op ${n.opType} (node '${n.name}') on the path to '${loss}'`);
  }
  return { relevant, ruleOf, onPath };
}

/** Tensors that vary with wrt (through differentiable inputs of ops that pass gradients). */
function varyingTensors(
  nodes: readonly OnnxNode[],
  registry: GradRegistry,
  wrt: readonly string[],
  differentiable: (n: OnnxNode, k: number) => boolean,
): Set<string> {
  const varying = new Set<string>(wrt);
  for (const n of nodes) {
    if (registry.isNonDifferentiable(n.opType)) continue;
    if (n.inputs.some((name, k) => name && varying.has(name) && differentiable(n, k))) {
      for (const o of n.outputs) if (o) varying.add(o);
    }
  }
  return varying;
}

/** Tensors the loss depends on (the loss included), by one backward scan of the ordered nodes. */
function lossAncestors(nodes: readonly OnnxNode[], loss: string): Set<string> {
  const ancestors = new Set<string>([loss]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n?.outputs.some((o) => ancestors.has(o))) for (const x of n.inputs) if (x) ancestors.add(x);
  }
  return ancestors;
}
