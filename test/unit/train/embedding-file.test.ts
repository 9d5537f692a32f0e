// The embedding file: safetensors layout with the token as the only key, F32 [n, D], metadata read back.
import {
  embeddingFileName,
  encodeEmbeddingFile,
  modelSpecArchitecture,
} from '../../../trainer-image/src/train/embedding-file.ts';

function parse(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return { n, header, data: new Float32Array(bytes.slice(8 + n).buffer) };
}

describe('embedding file', () => {
  it('holds one tensor keyed by the token, with modelspec and plateau metadata', () => {
    const rows = Float32Array.from({ length: 6 }, (_, i) => i / 7);
    const bytes = encodeEmbeddingFile({
      token: '<my-cat>',
      rows,
      nVectors: 2,
      hiddenSize: 3,
      predictionType: 'epsilon',
      plateau: { steps: 412, stop_reason: 'dvar', criterion_step: 411, final_ratio: 0.149 },
      date: new Date('2026-01-02T03:04:05Z'),
    });
    const { n, header, data } = parse(bytes);
    expect(n % 8).toBe(0);
    expect(Object.keys(header).sort()).toEqual(['<my-cat>', '__metadata__']);
    expect(header['<my-cat>']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(data).toEqual(rows);
    expect(header.__metadata__).toMatchObject({
      'modelspec.architecture': 'stable-diffusion-d3/textual-inversion',
      'modelspec.title': '<my-cat>',
      'modelspec.date': '2026-01-02T03:04:05.000Z',
      'plateau.steps': '412',
      'plateau.stop_reason': 'dvar',
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
