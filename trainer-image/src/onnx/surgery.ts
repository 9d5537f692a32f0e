// Graph surgery for training graphs: prefix a component's names, turn initializers into inputs, splice trainable
// rows into a token-embedding lookup (Gather from the table or the rows, selected with Where) for new token ids,
// merge components, prune dead nodes.
// Every function returns a new graph; tensors (weights included) are shared by reference, never copied.
import type { OnnxGraph, OnnxNode, OnnxTensor, ValueInfo } from './model.ts';

/** Renames every tensor (inputs, outputs, initializers, node io, value_info); node names get `prefix`. */
export function prefixGraph(
  graph: OnnxGraph,
  prefix: string,
  mapping: Readonly<Record<string, string>> = {},
): OnnxGraph {
  const rename = (name: string): string => (name === '' ? '' : (mapping[name] ?? `${prefix}${name}`));
  const renameInfo = (v: ValueInfo): ValueInfo => ({ ...v, name: rename(v.name) });
  return {
    name: graph.name,
    nodes: graph.nodes.map((n, i) => ({
      ...n,
      name: `${prefix}${n.name || `${n.opType}_${i}`}`,
      inputs: n.inputs.map(rename),
      outputs: n.outputs.map(rename),
    })),
    initializers: graph.initializers.map((t) => ({ ...t, name: rename(t.name) })),
    inputs: graph.inputs.map(renameInfo),
    outputs: graph.outputs.map(renameInfo),
    valueInfo: graph.valueInfo.map(renameInfo),
  };
}

/** Moves the named initializers to graph inputs (same dtype and dims); their values must then be fed. */
export function initializersToInputs(graph: OnnxGraph, names: readonly string[]): OnnxGraph {
  const wanted = new Set(names);
  const moved = graph.initializers.filter((t) => wanted.has(t.name));
  for (const n of names) {
    if (!moved.some((t) => t.name === n)) throw new Error(`initializer '${n}' not found`);
  }
  return {
    ...graph,
    initializers: graph.initializers.filter((t) => !wanted.has(t.name)),
    inputs: [
      ...graph.inputs.filter((v) => !wanted.has(v.name)),
      ...moved.map((t) => ({ name: t.name, dataType: t.dataType, dims: [...t.dims] })),
    ],
  };
}

const PASS_THROUGH = new Set(['Reshape', 'Cast', 'Identity', 'Flatten', 'Unsqueeze', 'Squeeze']);

/**
 * The token-embedding Gather of a text encoder: a Gather whose data is a rank-2 initializer and whose indices
 * come from `idsInput` through shape-only ops (TorchScript reshapes the ids first; dynamo views them).
 */
export function findTokenEmbedding(
  graph: OnnxGraph,
  idsInput: string,
): { node: OnnxNode; table: OnnxTensor } {
  const fromIds = new Set([idsInput]);
  for (const n of graph.nodes) {
    if (PASS_THROUGH.has(n.opType) && n.inputs[0] && fromIds.has(n.inputs[0]))
      for (const o of n.outputs) fromIds.add(o);
  }
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  for (const n of graph.nodes) {
    if (n.opType !== 'Gather' || !n.inputs[1] || !fromIds.has(n.inputs[1])) continue;
    const table = inits.get(n.inputs[0] ?? '');
    if (table && table.dims.length === 2) return { node: n, table };
  }
  throw new Error(`no token-embedding Gather fed by '${idsInput}' found`);
}

/**
 * Adds the rows of a new graph input `rowsInput` [nRows, D] to the token table as ids vocab..vocab+nRows−1, as if
 * the table were Concat(table, rows) (negative ids count from the end of that grown table, as Gather's do), but
 * without building the grown table: a grown table would copy the whole vocabulary (49408 × 768 floats for SD) every
 * run. Every axis-0 Gather on the table becomes
 *   Where(isTable[ids], Gather(table, tableIndex[ids]), Gather(rows, rowIndex[ids]))
 * with three constant lookup tables over the grown ids (isTable [vocab+nRows, 1] BOOL, tableIndex and rowIndex
 * INT64, 0 where the other source applies), so each source is read only at the ids' rows and the rows' gradient is
 * a scatter of the selected output rows, never table-sized. The table stays an initializer (frozen).
 */
export function spliceEmbeddingRows(
  graph: OnnxGraph,
  options: { readonly idsInput: string; readonly rowsInput: string; readonly nRows: number },
): { graph: OnnxGraph; vocabSize: number; hiddenSize: number; tableName: string } {
  const { table } = findTokenEmbedding(graph, options.idsInput);
  const [vocabSize, hiddenSize] = table.dims as [number, number];
  const total = vocabSize + options.nRows;
  const base = `${table.name}/splice`;
  const isTableName = `${base}/is_table`;
  const tableIndexName = `${base}/table_index`;
  const rowIndexName = `${base}/row_index`;
  const isTable = new Uint8Array(total);
  const tableIndex = new BigInt64Array(total);
  const rowIndex = new BigInt64Array(total);
  for (let i = 0; i < total; i++) {
    const inTable = i < vocabSize;
    isTable[i] = inTable ? 1 : 0;
    tableIndex[i] = inTable ? BigInt(i) : 0n;
    rowIndex[i] = inTable ? 0n : BigInt(i - vocabSize);
  }
  const bytes = (a: BigInt64Array | Uint8Array): Uint8Array =>
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const lookups: OnnxTensor[] = [
    { name: isTableName, dataType: 9, dims: [total, 1], data: { kind: 'raw', bytes: bytes(isTable) } },
    { name: tableIndexName, dataType: 7, dims: [total], data: { kind: 'raw', bytes: bytes(tableIndex) } },
    { name: rowIndexName, dataType: 7, dims: [total], data: { kind: 'raw', bytes: bytes(rowIndex) } },
  ];
  const axis0 = { axis: { type: 'int', value: 0 } } as const;
  const node = (
    name: string,
    opType: string,
    inputs: string[],
    output: string,
    gather = false,
  ): OnnxNode => ({
    name,
    opType,
    domain: '',
    inputs,
    outputs: [output],
    attributes: gather ? axis0 : {},
  });
  const nodes = graph.nodes.flatMap((n, i): OnnxNode[] => {
    const axisAttr = n.attributes.axis;
    const axis = axisAttr?.type === 'int' ? axisAttr.value : 0;
    const ids = n.inputs[1];
    const out = n.outputs[0];
    if (n.opType !== 'Gather' || n.inputs[0] !== table.name || !ids || !out) return [n];
    if (axis !== 0 && axis !== -2)
      throw new Error(`token Gather '${n.name}' reads the table on axis ${axis}`);
    const at = `${base}/${n.name || `Gather_${i}`}`;
    return [
      node(`${at}/is_table`, 'Gather', [isTableName, ids], `${at}/is_table_output`, true),
      node(`${at}/table_index`, 'Gather', [tableIndexName, ids], `${at}/table_index_output`, true),
      node(`${at}/row_index`, 'Gather', [rowIndexName, ids], `${at}/row_index_output`, true),
      node(
        `${at}/from_table`,
        'Gather',
        [table.name, `${at}/table_index_output`],
        `${at}/from_table_output`,
        true,
      ),
      node(
        `${at}/from_rows`,
        'Gather',
        [options.rowsInput, `${at}/row_index_output`],
        `${at}/from_rows_output`,
        true,
      ),
      node(
        `${at}/select`,
        'Where',
        [`${at}/is_table_output`, `${at}/from_table_output`, `${at}/from_rows_output`],
        out,
      ),
    ];
  });
  return {
    graph: {
      ...graph,
      nodes,
      initializers: [...graph.initializers, ...lookups],
      inputs: [
        ...graph.inputs,
        { name: options.rowsInput, dataType: table.dataType, dims: [options.nRows, hiddenSize] },
      ],
    },
    vocabSize,
    hiddenSize,
    tableName: table.name,
  };
}

/**
 * Concatenates component graphs (already prefixed so names do not clash). Inputs produced by another part's
 * node or initializer are dropped; `outputs` become the graph outputs.
 */
export function mergeGraphs(
  name: string,
  parts: readonly OnnxGraph[],
  outputs: readonly ValueInfo[],
): OnnxGraph {
  const produced = new Set<string>();
  for (const p of parts) {
    for (const n of p.nodes) for (const o of n.outputs) if (o) produced.add(o);
    for (const t of p.initializers) produced.add(t.name);
  }
  const seenInputs = new Set<string>();
  const inputs: ValueInfo[] = [];
  for (const p of parts) {
    for (const v of p.inputs) {
      if (produced.has(v.name) || seenInputs.has(v.name)) continue;
      seenInputs.add(v.name);
      inputs.push(v);
    }
  }
  const tensorNames = new Set<string>();
  for (const p of parts) {
    for (const t of p.initializers) {
      if (tensorNames.has(t.name)) throw new Error(`merge: initializer '${t.name}' defined twice`);
      tensorNames.add(t.name);
    }
  }
  return {
    name,
    nodes: parts.flatMap((p) => p.nodes),
    initializers: parts.flatMap((p) => p.initializers),
    inputs,
    outputs: [...outputs],
    valueInfo: parts.flatMap((p) => p.valueInfo),
  };
}

/** Keeps only the nodes, initializers and inputs the given outputs need (inputs in `keepInputs` always stay). */
export function pruneGraph(graph: OnnxGraph, keepInputs: readonly string[] = []): OnnxGraph {
  const needed = new Set(graph.outputs.map((o) => o.name));
  const keep: boolean[] = new Array(graph.nodes.length).fill(false);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (n?.outputs.some((o) => needed.has(o))) {
      keep[i] = true;
      for (const x of n.inputs) if (x) needed.add(x);
    }
  }
  const always = new Set(keepInputs);
  return {
    ...graph,
    nodes: graph.nodes.filter((_, i) => keep[i]),
    initializers: graph.initializers.filter((t) => needed.has(t.name)),
    inputs: graph.inputs.filter((v) => needed.has(v.name) || always.has(v.name)),
    valueInfo: graph.valueInfo.filter((v) => needed.has(v.name)),
  };
}

/** Whether any tensor of the graph (initializers or Constant attributes) lives in an external file. */
export function hasExternalData(graph: OnnxGraph): boolean {
  return graph.initializers.some((t) => t.data.kind === 'external');
}
