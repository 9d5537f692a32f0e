// Reads and writes ONNX ModelProto bytes to and from the plain IR in model.ts (protobufjs, schema in onnx-proto.ts).
// External data is never read: a tensor stored in a side file (SD UNets keep weights in weights.pb) stays a
// reference, remembered with the folder of the model that named it, and is re-pointed when written elsewhere.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type {
  OnnxAttribute,
  OnnxGraph,
  OnnxModel,
  OnnxNode,
  OnnxTensor,
  OpsetImport,
  TensorData,
  ValueInfo,
} from './model.ts';
import { DataType, elementSize } from './model.ts';
import { ModelProtoType } from './onnx-proto.ts';

/** protobufjs hands int64 back as Long objects (the `long` package is installed) or plain numbers. */
type Int64 = number | { toNumber(): number };

interface ProtoEntry {
  key: string;
  value: string;
}
interface ProtoTensor {
  dims: Int64[];
  dataType: number;
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: Int64[];
  name: string;
  rawData: Uint8Array;
  doubleData: number[];
  uint64Data: Int64[];
  externalData: ProtoEntry[];
  dataLocation: number;
}
interface ProtoAttribute {
  name: string;
  f: number;
  i: Int64;
  s: Uint8Array;
  t: ProtoTensor | null;
  g: ProtoGraph | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: ProtoTensor[];
  graphs: ProtoGraph[];
  type: number;
}
interface ProtoNode {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  attribute: ProtoAttribute[];
  domain: string;
}
interface ProtoDimension {
  dimValue?: Int64;
  dimParam?: string;
  value?: 'dimValue' | 'dimParam';
}
interface ProtoValueInfo {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: ProtoDimension[] } | null } | null } | null;
}
interface ProtoGraph {
  node: ProtoNode[];
  name: string;
  initializer: ProtoTensor[];
  input: ProtoValueInfo[];
  output: ProtoValueInfo[];
  valueInfo: ProtoValueInfo[];
}
interface ProtoModel {
  irVersion: Int64;
  producerName: string;
  producerVersion: string;
  graph: ProtoGraph | null;
  opsetImport: { domain: string; version: Int64 }[];
  metadataProps: ProtoEntry[];
  functions: Uint8Array[];
}

const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

function num(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** Packs the typed-field payloads of a TensorProto into little-endian raw bytes. */
function typedFieldsToRaw(t: ProtoTensor, count: number): Uint8Array {
  const size = elementSize(t.dataType);
  const out = new Uint8Array(count * size);
  const view = new DataView(out.buffer);
  const put = (values: readonly (number | Int64)[], write: (i: number, v: Int64) => void): Uint8Array => {
    if (values.length !== count) {
      throw new Error(`tensor '${t.name}': ${values.length} values for ${count} elements`);
    }
    values.forEach((v, i) => {
      write(i, v);
    });
    return out;
  };
  switch (t.dataType) {
    case DataType.FLOAT:
      return put(t.floatData, (i, v) => view.setFloat32(i * 4, num(v), true));
    case DataType.DOUBLE:
      return put(t.doubleData, (i, v) => view.setFloat64(i * 8, num(v), true));
    case DataType.INT64:
      return put(t.int64Data, (i, v) => view.setBigInt64(i * 8, int64Big(v), true));
    case DataType.UINT64:
      return put(t.uint64Data, (i, v) => view.setBigUint64(i * 8, BigInt.asUintN(64, int64Big(v)), true));
    case DataType.UINT32:
      return put(t.uint64Data, (i, v) => view.setUint32(i * 4, num(v), true));
    case DataType.INT32:
      return put(t.int32Data, (i, v) => view.setInt32(i * 4, num(v), true));
    case DataType.INT16:
      return put(t.int32Data, (i, v) => view.setInt16(i * 2, num(v), true));
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return put(t.int32Data, (i, v) => view.setUint16(i * 2, num(v), true));
    case DataType.INT8:
      return put(t.int32Data, (i, v) => view.setInt8(i, num(v)));
    case DataType.UINT8:
    case DataType.BOOL:
      return put(t.int32Data, (i, v) => view.setUint8(i, num(v)));
    default:
      throw new Error(`tensor '${t.name}': unsupported data type ${t.dataType}`);
  }
}

function int64Big(v: Int64): bigint {
  if (typeof v === 'number') return BigInt(v);
  const s = String(v);
  return BigInt(s);
}

function decodeTensor(t: ProtoTensor, baseDir: string | undefined): OnnxTensor {
  const dims = t.dims.map(num);
  const count = dims.reduce((a, b) => a * b, 1);
  let data: TensorData;
  if (t.dataLocation === 1) {
    const entries = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = entries.get('location');
    if (!location) throw new Error(`tensor '${t.name}': external data without a location`);
    const length = entries.get('length');
    data = {
      kind: 'external',
      location,
      offset: Number(entries.get('offset') ?? '0'),
      length: length === undefined ? undefined : Number(length),
      baseDir,
    };
  } else if (t.dataType === DataType.STRING) {
    data = { kind: 'strings', values: t.stringData.map((s) => new Uint8Array(s)) };
  } else if (t.rawData && t.rawData.length > 0) {
    data = { kind: 'raw', bytes: t.rawData };
  } else {
    data = { kind: 'raw', bytes: count === 0 ? new Uint8Array(0) : typedFieldsToRaw(t, count) };
  }
  return { name: t.name, dataType: t.dataType, dims, data };
}

function decodeAttribute(a: ProtoAttribute, baseDir: string | undefined): OnnxAttribute | undefined {
  switch (a.type) {
    case ATTR.FLOAT:
      return { type: 'float', value: a.f };
    case ATTR.INT:
      return { type: 'int', value: num(a.i) };
    case ATTR.STRING:
      return { type: 'string', value: utf8.decode(a.s) };
    case ATTR.FLOATS:
      return { type: 'floats', value: [...a.floats] };
    case ATTR.INTS:
      return { type: 'ints', value: a.ints.map(num) };
    case ATTR.STRINGS:
      return { type: 'strings', value: a.strings.map((s) => utf8.decode(s)) };
    case ATTR.TENSOR:
      return a.t ? { type: 'tensor', value: decodeTensor(a.t, baseDir) } : undefined;
    case ATTR.GRAPH:
      return a.g ? { type: 'graph', value: decodeGraph(a.g, baseDir) } : undefined;
    default:
      throw new Error(`attribute '${a.name}': unsupported attribute type ${a.type}`);
  }
}

function decodeNode(n: ProtoNode, baseDir: string | undefined): OnnxNode {
  const attributes: Record<string, OnnxAttribute> = {};
  for (const a of n.attribute) {
    const value = decodeAttribute(a, baseDir);
    if (value) attributes[a.name] = value;
  }
  return {
    name: n.name,
    opType: n.opType,
    domain: n.domain,
    inputs: [...n.input],
    outputs: [...n.output],
    attributes,
  };
}

function decodeValueInfo(v: ProtoValueInfo): ValueInfo {
  const tensorType = v.type?.tensorType;
  const shape = tensorType?.shape;
  return {
    name: v.name,
    dataType: tensorType?.elemType ?? 0,
    dims: shape
      ? shape.dim.map((d) =>
          d.value === 'dimValue' ? num(d.dimValue) : d.value === 'dimParam' ? d.dimParam : undefined,
        )
      : undefined,
  };
}

function decodeGraph(g: ProtoGraph, baseDir: string | undefined): OnnxGraph {
  return {
    name: g.name,
    nodes: g.node.map((n) => decodeNode(n, baseDir)),
    initializers: g.initializer.map((t) => decodeTensor(t, baseDir)),
    inputs: g.input.map(decodeValueInfo),
    outputs: g.output.map(decodeValueInfo),
    valueInfo: g.valueInfo.map(decodeValueInfo),
  };
}

/**
 * Decodes ModelProto bytes. `baseDir` is the folder relative external-data locations resolve against
 * (loadModel passes the model's folder); tensor payloads are views into `bytes`, not copies.
 */
export function decodeModel(bytes: Uint8Array, baseDir?: string): OnnxModel {
  const message = ModelProtoType.decode(bytes) as unknown as ProtoModel;
  if (!message.graph) throw new Error('ONNX model has no graph');
  const opsetImports: OpsetImport[] = message.opsetImport.map((o) => ({
    domain: o.domain,
    version: num(o.version),
  }));
  return {
    irVersion: num(message.irVersion),
    opsetImports,
    producerName: message.producerName,
    producerVersion: message.producerVersion,
    graph: decodeGraph(message.graph, baseDir),
    functions: message.functions.map((f) => new Uint8Array(f)),
    metadata: Object.fromEntries(message.metadataProps.map((e) => [e.key, e.value])),
  };
}

/** Reads a model file; external data stays on disk, referenced relative to the model's folder. */
export function loadModel(path: string): OnnxModel {
  return decodeModel(readFileSync(path), resolve(dirname(path)));
}

export interface EncodeOptions {
  /**
   * The folder the written model will be loaded from (its file's folder; for a session created from
   * bytes, the process's working directory). External-data locations are rewritten relative to it so the
   * new model points at the original weight files: no weight is copied. Default: process.cwd().
   */
  readonly modelDir?: string;
}

function externalLocation(data: Extract<TensorData, { kind: 'external' }>, modelDir: string): string {
  if (data.baseDir === undefined || isAbsolute(data.location)) return data.location;
  return relative(modelDir, join(data.baseDir, data.location)).split('\\').join('/');
}

function encodeTensor(t: OnnxTensor, modelDir: string): Record<string, unknown> {
  const base = { name: t.name, dataType: t.dataType, dims: [...t.dims] };
  switch (t.data.kind) {
    case 'raw':
      return { ...base, rawData: t.data.bytes };
    case 'strings':
      return { ...base, stringData: [...t.data.values] };
    case 'external': {
      const entries = [
        { key: 'location', value: externalLocation(t.data, modelDir) },
        { key: 'offset', value: String(t.data.offset) },
      ];
      if (t.data.length !== undefined) entries.push({ key: 'length', value: String(t.data.length) });
      return { ...base, dataLocation: 1, externalData: entries };
    }
  }
}

function encodeAttribute(name: string, a: OnnxAttribute, modelDir: string): Record<string, unknown> {
  switch (a.type) {
    case 'float':
      return { name, type: ATTR.FLOAT, f: a.value };
    case 'int':
      return { name, type: ATTR.INT, i: a.value };
    case 'string':
      return { name, type: ATTR.STRING, s: utf8Encoder.encode(a.value) };
    case 'floats':
      return { name, type: ATTR.FLOATS, floats: [...a.value] };
    case 'ints':
      return { name, type: ATTR.INTS, ints: [...a.value] };
    case 'strings':
      return { name, type: ATTR.STRINGS, strings: a.value.map((s) => utf8Encoder.encode(s)) };
    case 'tensor':
      return { name, type: ATTR.TENSOR, t: encodeTensor(a.value, modelDir) };
    case 'graph':
      return { name, type: ATTR.GRAPH, g: encodeGraph(a.value, modelDir) };
  }
}

function encodeValueInfo(v: ValueInfo): Record<string, unknown> {
  const shape = v.dims
    ? {
        dim: v.dims.map((d) =>
          typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {},
        ),
      }
    : undefined;
  return { name: v.name, type: { tensorType: { elemType: v.dataType, shape } } };
}

function encodeGraph(g: OnnxGraph, modelDir: string): Record<string, unknown> {
  return {
    name: g.name,
    node: g.nodes.map((n) => ({
      name: n.name,
      opType: n.opType,
      domain: n.domain,
      input: [...n.inputs],
      output: [...n.outputs],
      attribute: Object.entries(n.attributes).map(([k, a]) => encodeAttribute(k, a, modelDir)),
    })),
    initializer: g.initializers.map((t) => encodeTensor(t, modelDir)),
    input: g.inputs.map(encodeValueInfo),
    output: g.outputs.map(encodeValueInfo),
    valueInfo: g.valueInfo.map(encodeValueInfo),
  };
}

/** Encodes a model to ModelProto bytes (tensor payloads as raw_data; external references re-pointed). */
export function encodeModel(model: OnnxModel, options: EncodeOptions = {}): Uint8Array {
  const modelDir = resolve(options.modelDir ?? process.cwd());
  const message = {
    irVersion: model.irVersion,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    graph: encodeGraph(model.graph, modelDir),
    opsetImport: model.opsetImports.map((o) => ({ domain: o.domain, version: o.version })),
    metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
    functions: [...model.functions],
  };
  return ModelProtoType.encode(message).finish();
}
