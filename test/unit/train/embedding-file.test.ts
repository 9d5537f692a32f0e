// The embedding file: safetensors layout with the token as the only key, F32 [n, D], metadata read back.
import { readSafetensors, toFloat32 } from '../../../shared/safetensors.ts';
import {
  embeddingFileName,
  encodeEmbeddingFile,
  modelSpecArchitecture,
} from '../../../trainer-image/src/train/embedding-file.ts';

describe('embedding file', () => {
  it('holds one tensor keyed by the token, with modelspec and plateau metadata', () => {
    const rows = Float32Array.from({ length: 6 }, (_, i) => i / 7);
    const bytes = encodeEmbeddingFile({
      token: '<my-cat>',
      rows,
      nVectors: 2,
      hiddenSize: 3,
      predictionType: 'epsilon',
      plateau: { steps: 412, stop_reason: 'criterion', criterion_step: 411, final_ratio: 0.149 },
      date: new Date('2026-01-02T03:04:05Z'),
    });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const file = readSafetensors(bytes);
    expect([...file.tensors.keys()]).toEqual(['<my-cat>']);
    const tensor = file.tensors.get('<my-cat>')!;
    expect(tensor.dtype).toBe('F32');
    expect(tensor.shape).toEqual([2, 3]);
    expect(toFloat32(tensor)).toEqual(rows);
    expect(file.metadata).toMatchObject({
      'modelspec.architecture': 'stable-diffusion-d3/textual-inversion',
      'modelspec.title': '<my-cat>',
      'modelspec.date': '2026-01-02T03:04:05.000Z',
      'plateau.steps': '412',
      'plateau.stop_reason': 'criterion',
      'plateau.final_ratio': '0.149',
    });
  });

  it('names the architecture and a safe file name', () => {
    expect(modelSpecArchitecture(768, 'epsilon')).toBe('stable-diffusion-v1/textual-inversion');
    expect(modelSpecArchitecture(1024, 'v_prediction')).toBe('stable-diffusion-v2-768-v/textual-inversion');
    expect(embeddingFileName('<my-cat>')).toBe('<my-cat>.safetensors');
    expect(() => embeddingFileName('../x')).toThrow(/file name/);
    expect(() => embeddingFileName('a b')).toThrow(/file name/);
  });

  it('refuses rows that do not match the shape', () => {
    expect(() =>
      encodeEmbeddingFile({
        token: 't',
        rows: new Float32Array(5),
        nVectors: 2,
        hiddenSize: 3,
        predictionType: 'epsilon',
        plateau: {},
      }),
    ).toThrow(/expected 2 × 3/);
  });
});
