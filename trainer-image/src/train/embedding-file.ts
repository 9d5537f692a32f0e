// The learned embedding as `<token>.safetensors`: one tensor keyed by the token string, F32 [nVectors, D],
// with `__metadata__` in the SAI model-spec keys (modelspec.*) plus plateau.* run facts — the layout diffusers
// `load_textual_inversion`, AUTOMATIC1111 and ComfyUI load.
import { writeSafetensors } from '../../../shared/safetensors.ts';

export interface EmbeddingFacts {
  readonly token: string;
  readonly rows: Float32Array;
  readonly nVectors: number;
  /** Text encoder hidden size (768 for SD 1.x, 1024 for SD 2.x). */
  readonly hiddenSize: number;
  readonly predictionType: 'epsilon' | 'v_prediction';
  /** Extra plateau.* keys (steps, stop reason, criterion values, …); values are stringified. */
  readonly plateau: Readonly<Record<string, string | number | boolean | null>>;
  readonly date?: Date;
}

/** The model-spec architecture id for the base model family the embedding belongs to. */
export function modelSpecArchitecture(
  hiddenSize: number,
  predictionType: 'epsilon' | 'v_prediction',
): string {
  if (hiddenSize === 768) return 'stable-diffusion-v1/textual-inversion';
  if (hiddenSize === 1024) {
    return predictionType === 'v_prediction'
      ? 'stable-diffusion-v2-768-v/textual-inversion'
      : 'stable-diffusion-v2-512/textual-inversion';
  }
  return `stable-diffusion-d${hiddenSize}/textual-inversion`;
}

/**
 * The output file name: the token verbatim, `<my-cat>.safetensors` (as shared/keys.ts names the pipeline's
 * output and A1111 takes the file name as the trigger word). Tokens that cannot be one file name are refused.
 */
export function embeddingFileName(token: string): string {
  if (token === '' || /[/\\\s]/.test(token) || token.includes('..') || token.startsWith('.')) {
    throw new Error(
      `token ${JSON.stringify(token)} cannot be a file name (no slashes, spaces, or leading dots)`,
    );
  }
  return `${token}.safetensors`;
}

export function encodeEmbeddingFile(facts: EmbeddingFacts): Uint8Array {
  const { token, rows, nVectors, hiddenSize } = facts;
  if (rows.length !== nVectors * hiddenSize) {
    throw new Error(`embedding has ${rows.length} values, expected ${nVectors} × ${hiddenSize}`);
  }
  if (token === '__metadata__') throw new Error('the token cannot be named __metadata__');
  const metadata: Record<string, string> = {
    'modelspec.sai_model_spec': '1.0.0',
    'modelspec.architecture': modelSpecArchitecture(hiddenSize, facts.predictionType),
    'modelspec.implementation': 'https://github.com/huggingface/diffusers',
    'modelspec.title': token,
    'modelspec.date': (facts.date ?? new Date()).toISOString(),
  };
  for (const [key, value] of Object.entries(facts.plateau)) metadata[`plateau.${key}`] = String(value);
  // Little-endian float32 bytes whatever the host, then one tensor named by the token.
  const le = new Float32Array(rows.length);
  const view = new DataView(le.buffer);
  for (let i = 0; i < rows.length; i++) view.setFloat32(i * 4, rows[i]!, true);
  return writeSafetensors({ [token]: { dtype: 'F32', shape: [nVectors, hiddenSize], data: le } }, metadata);
}
