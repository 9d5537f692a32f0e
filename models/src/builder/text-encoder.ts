// A CLIP-style text encoder: token embedding (a Gather on input_ids, which textual inversion splices) plus a
// learned position embedding, pre-LN transformer layers with a causal mask and quick-GELU MLPs, final LayerNorm.
import type { TextEncoderConfig } from './config.ts';
import type { ModelGraph } from './model-graph.ts';

/**
 * Emits the encoder reading int64 ids `ids` [B, L]; returns the name of last_hidden_state [B, L, D].
 * `extraRows` [n, D] (a graph input) appends learned token rows to the table: ids vocabSize.. select them.
 */
export function emitTextEncoder(
  m: ModelGraph,
  cfg: TextEncoderConfig,
  ids: string,
  extraRows?: string,
): string {
  const d = cfg.hiddenSize;
  const L = cfg.maxLength;
  // Rows of norm ≈ 1.6 at D = 64: big enough that TI's AdamW steps (lr ≈ 1e-2) move a token gradually.
  const base = m.param('te.token_embedding.weight', [cfg.vocabSize, d], 'normal', 0.2);
  const table = extraRows
    ? m.op('Concat', [base, extraRows], 'te.embed', { axis: { type: 'int', value: 0 } })
    : base;
  const positions = m.param('te.position_embedding.weight', [L, d], 'normal', 0.1);
  let h = m.op(
    'Add',
    [m.op('Gather', [table, ids], 'te.embed', { axis: { type: 'int', value: 0 } }), positions],
    'te.embed',
  );
  const mask: number[] = [];
  for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) mask.push(j > i ? -1e4 : 0);
  const causal = m.constFloat(`causal_mask.${L}`, [L, L], mask);
  for (let l = 0; l < cfg.layers; l++) {
    const p = `te.layers.${l}`;
    const a = m.layerNorm(h, d, `${p}.ln1`);
    h = m.op('Add', [h, m.attention(a, a, d, d, `${p}.attn`, causal)], p);
    const f = m.layerNorm(h, d, `${p}.ln2`);
    const up = m.linear(f, d, cfg.mlpSize, `${p}.fc1`);
    // quick_gelu(x) = x · σ(1.702 x), as in CLIP.
    const act = m.op('Mul', [up, m.op('Sigmoid', [m.op('Mul', [up, m.scalar(1.702)], p)], p)], p);
    h = m.op('Add', [h, m.linear(act, cfg.mlpSize, d, `${p}.fc2`, { zero: true })], p);
  }
  return m.layerNorm(h, d, 'te.final_ln');
}
