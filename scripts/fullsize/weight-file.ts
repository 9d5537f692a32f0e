// Streams seeded random weights into one external-data file per component (`model.onnx_data`), the way
// PyTorch's exporter lays it out: tensors back to back, unaligned, each ≥ 1 KiB one external reference
// (location, offset, length); smaller ones stay inline. At most one chunk of values is ever held in memory.
import { closeSync, openSync, writeSync } from 'node:fs';
import { DataType, elementCount, type OnnxTensor } from '../../trainer-image/src/onnx/model.ts';
import { toHalf } from '../../trainer-image/src/onnx/tensor-values.ts';
import { Rng } from '../../trainer-image/src/train/rng.ts';

/**
 * How a parameter starts: zero-mean uniform with standard deviation `std` (PyTorch's default Linear/Conv init
 * is uniform too, and one draw per value is several times faster than Box–Muller), all ones, or all zeros.
 */
export type WeightInit =
  | { readonly kind: 'uniform'; readonly std: number }
  | { readonly kind: 'ones' | 'zeros' };

/** Elements generated and written per chunk (4 MiB of float32). */
const CHUNK = 1 << 20;
/** PyTorch keeps tensors below this many bytes in the graph file itself. */
const INLINE_BELOW = 1024;

export const DATA_FILE = 'model.onnx_data';

export class WeightFile {
  /** undefined: a dry run that lays out offsets without generating or writing values (structure tests). */
  private readonly fd: number | undefined;
  private readonly rng: Rng;
  private readonly f32 = new Float32Array(CHUNK);
  private readonly f16 = new Uint16Array(CHUNK);
  private readonly onBytes: (bytes: number) => void;
  readonly dataType: number;
  private offset = 0;
  private parameters = 0;

  /**
   * @param path the data file (truncated), or undefined for a dry run
   * @param dataType FLOAT or FLOAT16: the storage type of every parameter
   * @param seed with `stream`, the RNG stream: same seed → same bytes
   */
  constructor(
    path: string | undefined,
    dataType: number,
    seed: number,
    stream: string,
    onBytes: (bytes: number) => void = () => {},
  ) {
    if (dataType !== DataType.FLOAT && dataType !== DataType.FLOAT16) {
      throw new Error(`weights are FLOAT or FLOAT16, not data type ${dataType}`);
    }
    this.dataType = dataType;
    this.onBytes = onBytes;
    this.fd = path === undefined ? undefined : openSync(path, 'w');
    this.rng = Rng.forStream(seed, stream);
  }

  /** Bytes written so far (the data file's size). */
  get bytes(): number {
    return this.offset;
  }

  /** Elements of every parameter added so far. */
  get parameterCount(): number {
    return this.parameters;
  }

  /** Generates and stores one parameter; returns its initializer (external, or inline when small). */
  add(name: string, dims: readonly number[], init: WeightInit): OnnxTensor {
    const count = elementCount(dims);
    this.parameters += count;
    const half = this.dataType === DataType.FLOAT16;
    const byteLength = count * (half ? 2 : 4);
    const inline = byteLength < INLINE_BELOW ? new Uint8Array(byteLength) : undefined;
    const start = this.offset;
    if (this.fd === undefined && !inline) {
      this.offset += byteLength;
      return {
        name,
        dataType: this.dataType,
        dims: [...dims],
        data: {
          kind: 'external',
          location: DATA_FILE,
          offset: start,
          length: byteLength,
          baseDir: undefined,
        },
      };
    }
    for (let done = 0; done < count; done += CHUNK) {
      const n = Math.min(CHUNK, count - done);
      const values = this.f32.subarray(0, n);
      this.fill(values, init);
      let bytes: Uint8Array;
      if (half) {
        const bits = this.f16.subarray(0, n);
        for (let i = 0; i < n; i++) bits[i] = toHalf(values[i] ?? 0);
        bytes = new Uint8Array(bits.buffer, 0, n * 2);
      } else {
        bytes = new Uint8Array(values.buffer, 0, n * 4);
      }
      if (inline) inline.set(bytes, done * (half ? 2 : 4));
      else this.write(bytes);
    }
    const base = { name, dataType: this.dataType, dims: [...dims] };
    if (inline) return { ...base, data: { kind: 'raw', bytes: inline } };
    return {
      ...base,
      data: { kind: 'external', location: DATA_FILE, offset: start, length: byteLength, baseDir: undefined },
    };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }

  private fill(values: Float32Array, init: WeightInit): void {
    if (init.kind !== 'uniform') {
      values.fill(init.kind === 'ones' ? 1 : 0);
      return;
    }
    // U(−a, a) has variance a²/3, so a = √3·std; a uint32 u maps to (u / 2³²)·2a − a.
    const a = Math.sqrt(3) * init.std;
    const scale = (2 * a) / 2 ** 32;
    for (let i = 0; i < values.length; i++) values[i] = this.rng.nextUint32() * scale - a;
  }

  private write(bytes: Uint8Array): void {
    if (this.fd === undefined) throw new Error('a dry-run weight file writes nothing');
    let written = 0;
    while (written < bytes.length) {
      written += writeSync(this.fd, bytes, written, bytes.length - written, this.offset + written);
    }
    this.offset += bytes.length;
    this.onBytes(bytes.length);
  }
}
