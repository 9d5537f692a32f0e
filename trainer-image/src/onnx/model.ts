// The in-memory ONNX IR the project reads, edits and writes: a plain-data mirror of ModelProto with tensor
// payloads normalised to little-endian raw bytes, or left on disk as an external-data reference.
import type { Dim, OnnxDataType } from './typed-values.ts';

export type { Dim, OnnxDataType } from './typed-values.ts';

/** TensorProto.DataType numbers used by the project. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

/** Bytes per element of a data type (0 for STRING and unknown types). */
export function elementSize(dataType: OnnxDataType): number {
  switch (dataType) {
    case DataType.UINT8:
    case DataType.INT8:
    case DataType.BOOL:
      return 1;
    case DataType.UINT16:
    case DataType.INT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return 2;
    case DataType.FLOAT:
    case DataType.INT32:
    case DataType.UINT32:
      return 4;
    case DataType.INT64:
    case DataType.DOUBLE:
    case DataType.UINT64:
      return 8;
    default:
      return 0;
  }
}

export function dataTypeName(dataType: OnnxDataType): string {
  const entry = Object.entries(DataType).find(([, v]) => v === dataType);
  return entry ? entry[0] : `dtype#${dataType}`;
}

/** Where a tensor's payload lives. `external.location` is as written in the file (relative to `baseDir`). */
export type TensorData =
  | { readonly kind: 'raw'; readonly bytes: Uint8Array }
  | {
      readonly kind: 'external';
      readonly location: string;
      readonly offset: number;
      /** Byte length, or undefined when the reference omits it (then: to the end of the file). */
      readonly length: number | undefined;
      /** The folder `location` is relative to (the source model's folder); undefined = the writer's folder. */
      readonly baseDir: string | undefined;
    }
  | { readonly kind: 'strings'; readonly values: readonly Uint8Array[] };

export interface OnnxTensor {
  readonly name: string;
  readonly dataType: OnnxDataType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

export interface ValueInfo {
  readonly name: string;
  /** Element type of a tensor type (0 when the value is not a tensor or the type is absent). */
  readonly dataType: OnnxDataType;
  /** Dims, or undefined when the shape (even the rank) is unknown. */
  readonly dims: readonly Dim[] | undefined;
}

export type OnnxAttribute =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'tensor'; readonly value: OnnxTensor }
  | { readonly type: 'graph'; readonly value: OnnxGraph };

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  /** '' (or 'ai.onnx') for the default domain. */
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, OnnxAttribute>>;
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly valueInfo: readonly ValueInfo[];
}

export interface OpsetImport {
  readonly domain: string;
  readonly version: number;
}

export interface OnnxModel {
  readonly irVersion: number;
  readonly opsetImports: readonly OpsetImport[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly graph: OnnxGraph;
  /** Local functions (dynamo exports): kept opaque, re-emitted as read. */
  readonly functions: readonly Uint8Array[];
  readonly metadata: Readonly<Record<string, string>>;
}

/** The default-domain opset version of a model (ONNX's default when absent: 1). */
export function defaultOpset(model: OnnxModel): number {
  const entry = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return entry?.version ?? 1;
}

/** A tensor's element count from its dims. */
export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
