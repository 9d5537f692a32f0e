// Converts between the rules' small ConstTensor values (numbers, bigint for INT64) and the IR's raw
// little-endian bytes, including float16/bfloat16, so constants can be emitted and read back in any dtype.

import { DataType, elementCount, elementSize, type OnnxTensor } from './model.ts';
import type { ConstTensor } from './typed-values.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 half from a number (round to nearest even). */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half += 1;
  return sign | half;
}

/** A number from IEEE 754 half bits. */
export function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function toBig(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
}

/** Encodes values of `dataType` as little-endian bytes. */
export function encodeValues(dataType: number, values: readonly number[] | readonly bigint[]): Uint8Array {
  const size = elementSize(dataType);
  if (size === 0) throw new Error(`cannot encode constants of data type ${dataType}`);
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((raw: number | bigint, i: number) => {
    const v = typeof raw === 'bigint' ? Number(raw) : raw;
    switch (dataType) {
      case DataType.FLOAT:
        view.setFloat32(i * 4, v, true);
        break;
      case DataType.DOUBLE:
        view.setFloat64(i * 8, v, true);
        break;
      case DataType.FLOAT16:
        view.setUint16(i * 2, toHalf(v), true);
        break;
      case DataType.BFLOAT16:
        f32[0] = v;
        view.setUint16(i * 2, (u32[0] ?? 0) >>> 16, true);
        break;
      case DataType.INT64:
        view.setBigInt64(i * 8, toBig(raw), true);
        break;
      case DataType.UINT64:
        view.setBigUint64(i * 8, BigInt.asUintN(64, toBig(raw)), true);
        break;
      case DataType.INT32:
        view.setInt32(i * 4, v, true);
        break;
      case DataType.UINT32:
        view.setUint32(i * 4, v, true);
        break;
      case DataType.INT16:
        view.setInt16(i * 2, v, true);
        break;
      case DataType.UINT16:
        view.setUint16(i * 2, v, true);
        break;
      case DataType.INT8:
        view.setInt8(i, v);
        break;
      case DataType.UINT8:
      case DataType.BOOL:
        view.setUint8(i, v ? (dataType === DataType.BOOL ? 1 : v) : 0);
        break;
    }
  });
  return out;
}

/** Decodes little-endian bytes of `dataType` (INT64/UINT64 as bigint, the rest as numbers). */
export function decodeValues(dataType: number, bytes: Uint8Array): number[] | bigint[] {
  const size = elementSize(dataType);
  if (size === 0) throw new Error(`cannot decode constants of data type ${dataType}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.floor(bytes.byteLength / size);
  if (dataType === DataType.INT64 || dataType === DataType.UINT64) {
    const big: bigint[] = [];
    for (let i = 0; i < n; i++) {
      big.push(dataType === DataType.INT64 ? view.getBigInt64(i * 8, true) : view.getBigUint64(i * 8, true));
    }
    return big;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    switch (dataType) {
      case DataType.FLOAT:
        out.push(view.getFloat32(i * 4, true));
        break;
      case DataType.DOUBLE:
        out.push(view.getFloat64(i * 8, true));
        break;
      case DataType.FLOAT16:
        out.push(fromHalf(view.getUint16(i * 2, true)));
        break;
      case DataType.BFLOAT16:
        u32[0] = view.getUint16(i * 2, true) << 16;
        out.push(f32[0] ?? 0);
        break;
      case DataType.INT32:
        out.push(view.getInt32(i * 4, true));
        break;
      case DataType.UINT32:
        out.push(view.getUint32(i * 4, true));
        break;
      case DataType.INT16:
        out.push(view.getInt16(i * 2, true));
        break;
      case DataType.UINT16:
        out.push(view.getUint16(i * 2, true));
        break;
      case DataType.INT8:
        out.push(view.getInt8(i));
        break;
      default:
        out.push(view.getUint8(i));
    }
  }
  return out;
}

/** An IR tensor from a ConstTensor. */
export function constToTensor(name: string, value: ConstTensor): OnnxTensor {
  const count = elementCount(value.dims);
  if (count !== value.values.length) {
    throw new Error(`constant '${name}': ${value.values.length} values for dims [${value.dims.join(', ')}]`);
  }
  return {
    name,
    dataType: value.dataType,
    dims: [...value.dims],
    data: { kind: 'raw', bytes: encodeValues(value.dataType, value.values) },
  };
}

/** The values of an in-memory tensor (undefined for external data and strings, or above `maxElements`). */
export function tensorToConst(
  tensor: OnnxTensor,
  maxElements = Number.POSITIVE_INFINITY,
): ConstTensor | undefined {
  if (tensor.data.kind !== 'raw') return undefined;
  if (elementCount(tensor.dims) > maxElements) return undefined;
  return {
    dataType: tensor.dataType,
    dims: [...tensor.dims],
    values: decodeValues(tensor.dataType, tensor.data.bytes),
  };
}
