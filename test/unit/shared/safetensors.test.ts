// safetensors read/write: round trip of every supported dtype with metadata, the fixtures' goldens parse,
// and malformed offsets are rejected.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  readSafetensors,
  toBigInt64,
  toFloat32,
  toFloat64,
  writeSafetensors,
} from '../../../shared/safetensors.ts';
import { fixtureDir } from '../../support/fixtures.ts';

describe('safetensors', () => {
  it('round-trips F32, F64, F16, I64 and metadata', () => {
    const bytes = writeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4.5]) },
        b: { dtype: 'F64', shape: [1], data: new Float64Array([Math.PI]) },
        c: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
        d: { dtype: 'I64', shape: [2], data: new BigInt64Array([5n, -(2n ** 40n)]) },
      },
      { format: 'pt', 'plateau.steps': '12' },
    );
    expect(new DataView(bytes.buffer).getBigUint64(0, true) % 8n).toBe(0n);
    const file = readSafetensors(bytes);
    expect(file.metadata).toEqual({ format: 'pt', 'plateau.steps': '12' });
    const get = (k: string) => {
      const t = file.tensors.get(k);
      if (!t) throw new Error(k);
      return t;
    };
    expect([...toFloat32(get('a'))]).toEqual([1, 2, 3, 4.5]);
    expect(get('a').shape).toEqual([2, 2]);
    expect(toFloat64(get('b'))[0]).toBe(Math.PI);
    expect([...toFloat64(get('c'))]).toEqual([1, -2]);
    expect([...toBigInt64(get('d'))]).toEqual([5n, -(2n ** 40n)]);
  });

  it('reads the fixture goldens', () => {
    const file = readSafetensors(readFileSync(join(fixtureDir('tiny-sd'), 'golden.safetensors')));
    expect(file.tensors.get('ti64.grad_placeholder_row')?.dtype).toBe('F64');
    expect(file.tensors.get('ti.input_ids')?.shape).toEqual([2, 77]);
  });

  it('rejects inconsistent offsets', () => {
    const bytes = writeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    expect(() => readSafetensors(bytes.subarray(0, bytes.length - 4))).toThrow(/inconsistent/);
  });
});
