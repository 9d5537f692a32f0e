// Reads the bytes of one tensor (or a slice of it) wherever they live: inline, or at their offset in an
// external-data file, reading only those bytes (a token row of SD's 150 MB table must not load the 490 MB file).
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { elementCount, elementSize, type OnnxTensor } from './model.ts';

/**
 * `length` bytes of `tensor` from byte `start` (default: all of it). `modelDir` resolves a relative location
 * when the tensor does not remember the folder it was loaded from.
 */
export function readTensorBytes(
  tensor: OnnxTensor,
  modelDir: string,
  start = 0,
  length?: number,
): Uint8Array {
  const total = elementCount(tensor.dims) * elementSize(tensor.dataType);
  const n = length ?? total - start;
  if (start < 0 || n < 0 || start + n > total) {
    throw new Error(`tensor '${tensor.name}': bytes ${start}..${start + n} are outside its ${total} bytes`);
  }
  const data = tensor.data;
  if (data.kind === 'raw') return data.bytes.subarray(start, start + n);
  if (data.kind !== 'external') throw new Error(`tensor '${tensor.name}' holds strings, not numbers`);
  const out = new Uint8Array(n);
  const fd = openSync(join(data.baseDir ?? modelDir, data.location), 'r');
  try {
    let done = 0;
    while (done < n) {
      const read = readSync(fd, out, done, n - done, data.offset + start + done);
      if (read === 0) throw new Error(`tensor '${tensor.name}': ${data.location} ends before its data`);
      done += read;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
