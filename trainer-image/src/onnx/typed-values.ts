// The small typed values that the IR, graph building, shape inference and the autodiff share: an element type,
// a static dim, a constant tensor and an attribute. They live in onnx/ so the dependency runs autodiff → onnx only.

/** An ONNX data type by its TensorProto.DataType number (1 = FLOAT, 7 = INT64, 10 = FLOAT16, 11 = DOUBLE, …). */
export type OnnxDataType = number;

/** A small constant tensor emitted into the gradient graph (becomes an initializer or a Constant node). */
export interface ConstTensor {
  readonly dataType: OnnxDataType;
  readonly dims: readonly number[];
  /** Values in row-major order; bigint for INT64. */
  readonly values: readonly number[] | readonly bigint[];
}

/** A typed ONNX attribute value for emitted nodes. */
export type Attr =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'tensor'; readonly value: ConstTensor };

export const attr = {
  int: (value: number): Attr => ({ type: 'int', value }),
  float: (value: number): Attr => ({ type: 'float', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
  ints: (value: readonly number[]): Attr => ({ type: 'ints', value }),
  floats: (value: readonly number[]): Attr => ({ type: 'floats', value }),
  tensor: (value: ConstTensor): Attr => ({ type: 'tensor', value }),
};

/** A static dimension: a number when known, a symbolic name or undefined when not. */
export type Dim = number | string | undefined;
