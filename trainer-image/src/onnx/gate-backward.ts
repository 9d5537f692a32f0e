// Puts a training graph's backward pass under an If on a boolean input, so one onnxruntime session (one copy of
// the weights) serves both the training step (flag true: loss and gradients) and the DVAR evaluation (flag false:
// the forward pass only — onnxruntime otherwise runs every node whatever outputs are asked for).
import type { OnnxGraph, OnnxModel, OnnxNode, ValueInfo } from './model.ts';
import { DataType } from './model.ts';

export interface GatedModel {
  readonly model: OnnxModel;
  /** The BOOL scalar input: true computes the gated outputs, false returns zeros in their place. */
  readonly flag: string;
}

/** Names of every node output and graph input/initializer the forward pass (the `keep` outputs) needs. */
function forwardNodes(graph: OnnxGraph, keep: ReadonlySet<string>): boolean[] {
  const needed = new Set(keep);
  const forward: boolean[] = new Array(graph.nodes.length).fill(false);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (n?.outputs.some((o) => needed.has(o))) {
      forward[i] = true;
      for (const x of n.inputs) if (x) needed.add(x);
    }
  }
  return forward;
}

/**
 * Moves every node not needed for the `ungated` outputs into the then-branch of one If node that produces the
 * `gated` outputs (static FLOAT dims, e.g. a placeholder-row gradient); the else-branch returns zeros of those
 * shapes. Branch nodes read forward activations and initializers from the outer scope, so nothing is copied.
 */
export function gateBackward(
  model: OnnxModel,
  options: { readonly ungated: readonly string[]; readonly gated: readonly string[]; readonly flag?: string },
): GatedModel {
  const g = model.graph;
  const flag = options.flag ?? 'compute_gradient';
  const forward = forwardNodes(g, new Set(options.ungated));
  const backward = g.nodes.filter((_, i) => !forward[i]);
  const gatedInfo: ValueInfo[] = options.gated.map((name) => {
    const info = g.outputs.find((o) => o.name === name);
    if (!info?.dims || info.dims.some((d) => typeof d !== 'number')) {
      throw new Error(`gateBackward: output '${name}' needs static dims (got ${JSON.stringify(info?.dims)})`);
    }
    if (info.dataType !== DataType.FLOAT) throw new Error(`gateBackward: output '${name}' must be FLOAT`);
    return info;
  });
  // Inside the branches the gated outputs get branch-local names; the If node binds them to the real ones.
  const local = (name: string, branch: string) => `${branch}/${name}`;
  const rename = new Map(options.gated.map((n) => [n, local(n, 'then')]));
  const thenNodes: OnnxNode[] = backward.map((n) =>
    n.outputs.some((o) => rename.has(o)) ? { ...n, outputs: n.outputs.map((o) => rename.get(o) ?? o) } : n,
  );
  const branch = (name: string, nodes: OnnxNode[], suffix: string): OnnxGraph => ({
    name,
    nodes,
    initializers: [],
    inputs: [],
    outputs: gatedInfo.map((v) => ({ ...v, name: local(v.name, suffix) })),
    valueInfo: [],
  });
  const elseNodes: OnnxNode[] = gatedInfo.map((v) => {
    const dims = v.dims as readonly number[];
    const count = dims.reduce((a, b) => a * b, 1);
    return {
      name: `else/${v.name}/zeros`,
      opType: 'Constant',
      domain: '',
      inputs: [],
      outputs: [local(v.name, 'else')],
      attributes: {
        value: {
          type: 'tensor',
          value: {
            name: '',
            dataType: DataType.FLOAT,
            dims: [...dims],
            data: { kind: 'raw', bytes: new Uint8Array(count * 4) },
          },
        },
      },
    };
  });
  const ifNode: OnnxNode = {
    name: 'backward/If',
    opType: 'If',
    domain: '',
    inputs: [flag],
    outputs: [...options.gated],
    attributes: {
      then_branch: { type: 'graph', value: branch('backward', thenNodes, 'then') },
      else_branch: { type: 'graph', value: branch('no_backward', elseNodes, 'else') },
    },
  };
  return {
    flag,
    model: {
      ...model,
      graph: {
        ...g,
        nodes: [...g.nodes.filter((_, i) => forward[i]), ifNode],
        inputs: [...g.inputs, { name: flag, dataType: DataType.BOOL, dims: [] }],
      },
    },
  };
}
