// A weight initializer's values as float32 (inline or in its external-data file; float, float16, bfloat16,
// double), and a 2-D transpose: Custom Diffusion starts its trainable K/V from them in PyTorch's [out, in] layout.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WeightLayout } from './attention-projections.ts';
import { DataType, elementCount, elementSize, type OnnxTensor } from './model.ts';
import { fromHalf } from './tensor-values.ts';

/** The tensor's payload bytes; external data is read from `baseDir ?? modelDir`. */
export function tensorBytes(tensor: OnnxTensor, modelDir = process.cwd()): Uint8Array {
  const size = elementCount(tensor.dims) * elementSize(tensor.dataType);
  const data = tensor.data;
  if (data.kind === 'raw') return data.bytes;
  if (data.kind === 'strings') throw new Error(`tensor '${tensor.name}' holds strings, not numbers`);
  const file = readFileSync(join(data.baseDir ?? modelDir, data.location));
  const end = data.offset + (data.length ?? size);
  if (end > file.byteLength)
    throw new Error(`tensor '${tensor.name}': external data past the end of ${data.location}`);
  return file.subarray(data.offset, end);
}

/** A float tensor's values widened (or narrowed, for DOUBLE) to float32. */
export function readFloat32(tensor: OnnxTensor, modelDir?: string): Float32Array {
  const bytes = tensorBytes(tensor, modelDir);
  const n = elementCount(tensor.dims);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (tensor.dataType) {
    case DataType.FLOAT:
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case DataType.FLOAT16:
      for (let i = 0; i < n; i++) out[i] = fromHalf(view.getUint16(i * 2, true));
      return out;
    case DataType.BFLOAT16: {
      const word = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) word[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    case DataType.DOUBLE:
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    default:
      throw new Error(`tensor '${tensor.name}': data type ${tensor.dataType} is not a float type`);
  }
}

/** A row-major [rows, cols] matrix transposed to [cols, rows]. */
export function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  if (values.length !== rows * cols)
    throw new Error(`transpose2d: ${values.length} values for [${rows}, ${cols}]`);
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c] ?? 0;
  return out;
}

/** A projection weight stored in `layout` as PyTorch's W [out, in] (a copy, float32). */
export function weightOutIn(tensor: OnnxTensor, layout: WeightLayout, modelDir?: string): Float32Array {
  const [d0, d1] = tensor.dims;
  if (tensor.dims.length !== 2 || d0 === undefined || d1 === undefined) {
    throw new Error(`weight '${tensor.name}' is not a matrix (dims [${tensor.dims.join(', ')}])`);
  }
  const values = readFloat32(tensor, modelDir);
  return layout === 'out-in' ? values : transpose2d(values, d0, d1);
}
