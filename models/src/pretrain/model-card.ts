// The model card (models/<name>/README.md): recipe, seed, data, loss, CPU time, the command that reproduces
// it and the contact sheet, written from the facts of a pretraining run.
import type { PredictionType } from '../../../trainer-image/src/train/ddpm.ts';
import type { BaseModelConfig } from '../builder/config.ts';
import type { Evaluation, PairScore } from '../classifier/evaluate.ts';
import { HELD_OUT } from '../world/captions.ts';
import { BACKGROUNDS, COLOURS, OUTLINES, PATTERNS, SHAPES } from '../world/world.ts';

export interface CardFacts {
  readonly config: BaseModelConfig;
  readonly recipe: Readonly<Record<string, string | number | boolean>>;
  readonly steps: number;
  readonly losses: readonly number[];
  readonly cpuSeconds: number;
  readonly prediction: PredictionType;
  readonly parameterCount: number;
  readonly command: string;
  readonly sheet: {
    readonly file: string;
    readonly rows: readonly string[];
    readonly cols: readonly string[];
  };
  readonly sampling: { readonly steps: number; readonly guidance: number; readonly seed: number };
  readonly tiStepMs?: number;
  readonly evaluation?: Evaluation;
  /** Every guidance scale tried, with its accuracies; the sampling guidance is the one chosen on seen pairs. */
  readonly guidanceSweep?: readonly GuidanceScore[];
}

export interface GuidanceScore {
  readonly guidance: number;
  readonly seenAccuracy: number;
  readonly heldOutAccuracy: number;
}

function sweepTable(sweep: readonly GuidanceScore[]): string {
  if (sweep.length < 2) return '';
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return `
The guidance scale is chosen on the seen pairs only (the held-out column is reported, never used to choose):

| guidance | seen pairs both right | held-out pairs both right |
|---|---|---|
${sweep.map((g) => `| ${g.guidance} | ${pct(g.seenAccuracy)} | ${pct(g.heldOutAccuracy)} |`).join('\n')}
`;
}

function evaluationSection(e: Evaluation, perPairSeed: number): string {
  const row = (s: PairScore, note = '') =>
    `| ${s.colour} ${s.shape}${note} | ${s.colourCorrect}/${s.images} | ${s.shapeCorrect}/${s.images} | ${s.bothCorrect}/${s.images} |`;
  return `
## Does it draw what it is asked?

The attribute classifier (\`models/plateau-world-classifier/\`, trained by the project on world renders) judged
8 samples per pair of "a photo of a <colour> <shape>" (DDIM as above, seed ${perPairSeed}). Held-out pairs were never shown
in pretraining; the seen pairs use the same shapes with another colour. Colour counts as right when the asked
colour is one of the two the classifier sees most (patterned objects show two).

- Held-out pairs, colour and shape both right: **${(100 * e.heldOutAccuracy).toFixed(1)}%**
- Seen pairs, colour and shape both right: **${(100 * e.seenAccuracy).toFixed(1)}%**

| pair | colour right | shape right | both right |
|---|---|---|---|
${[...e.heldOut.map((s) => row(s, ' (held out)')), ...e.seen.map((s) => row(s))].join('\n')}
`;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Mean training loss over consecutive windows (a compact loss curve). */
export function lossCurve(losses: readonly number[], points = 10): { step: number; loss: number }[] {
  if (losses.length === 0) return [];
  const width = Math.max(1, Math.floor(losses.length / points));
  const out: { step: number; loss: number }[] = [];
  for (let end = width; end <= losses.length; end += width)
    out.push({ step: end, loss: mean(losses.slice(end - width, end)) });
  return out;
}

export function finalLoss(losses: readonly number[], window = 200): number {
  return mean(losses.slice(-window));
}

export function modelCard(f: CardFacts): string {
  const c = f.config;
  const curve = lossCurve(f.losses)
    .map((p) => `| ${p.step} | ${p.loss.toFixed(4)} |`)
    .join('\n');
  const recipe = Object.entries(f.recipe)
    .map(([k, v]) => `\`${k}\` ${v}`)
    .join(', ');
  const hours = (f.cpuSeconds / 3600).toFixed(2);
  const predicts = f.prediction === 'v_prediction' ? 'v (= √ᾱ·ε − √(1−ᾱ)·x0)' : 'ε';
  const switchStep = Number(f.recipe.vPredictionFrom);
  const phases = Number.isFinite(switchStep)
    ? `Two phases: steps 1–${switchStep} predict ε with the plain MSE; from step ${switchStep + 1} the UNet predicts v,
with min-SNR-γ loss weights min(SNR, γ)/(SNR + 1) and a fresh warm-up. Why: an ε model's estimate of x0 at high
noise is (x_t − √(1−ᾱ)·ε̂)/√ᾱ, which multiplies its ε error by up to 1/√ᾱ ≈ 125 exactly where shape and colour are
decided, while the ε loss there is ~100× smaller than at low noise, where it is mostly the background's pixel
texture. After the ε phase the text changed the loss by under 3% at any noise level, and samples drew colours
but not shapes. The loss column below changes meaning at the switch.
`
    : '';
  return `# ${c.name}

The embedded default base model of plateau: a small text-to-image diffusion model made entirely by this
repository's code — the procedural world (\`models/src/world/\`), the model builder on the project's
GraphBuilder (\`models/src/builder/\`) and pretraining with the project's own ONNX autodiff and AdamW
(\`models/src/pretrain/\`). It is laid out like a diffusers ONNX export of Stable Diffusion, so the trainer
treats it exactly like one.

## Architecture

- **Pixel space, ${c.unet.imageSize}×${c.unet.imageSize} RGB.** There is no autoencoder: \`vae_encoder\` returns
  \`latent_parameters\` = image ‖ logvar −30 (a posterior sample is the image itself, to ~3e-7) and
  \`vae_decoder\` is the identity; both configs say \`scaling_factor\` 1 and \`_plateau_pixel_space\` true.
  32×32 is the largest size whose pretraining fits a few CPU-core-hours and whose textual-inversion step stays
  far below 100 ms on one core; the world's attributes (shape, colour, stripes, dots, outlines) are legible at it.
- **Text encoder** (CLIP-style): word-level tokenizer (${c.textEncoder.vocabSize} words, CLIP special tokens,
  padded to ${c.textEncoder.maxLength}), token + learned position embeddings (D = ${c.textEncoder.hiddenSize}),
  ${c.textEncoder.layers} pre-LN transformer layers (single-head causal self-attention, quick-GELU MLP
  ${c.textEncoder.mlpSize}), final LayerNorm → \`last_hidden_state\`.
- **UNet**: channels ${c.unet.channels.join('/')} at 32/16/8 px, GroupNorm(${c.unet.groups}) as
  Reshape→InstanceNormalization→Reshape (like SD exports), SiLU, ResNet blocks with a timestep-embedding bias,
  sinusoidal timestep embedding + MLP, cross-attention (single head) to the text at 16×16 and 8×8, strided-conv
  down- and nearest-Resize + conv upsampling with skip concatenation; predicts ${predicts}.
- ${f.parameterCount.toLocaleString('en-US')} parameters, float32 initializers inside each \`model.onnx\`, opset 17.
- Scheduler: DDPM, linear β 1e-4 … 0.02, 1000 steps, \`prediction_type\` ${f.prediction}.
${f.tiStepMs === undefined ? '' : `- One textual-inversion training step (batch 2, loss + gradient of the token row) takes ${f.tiStepMs.toFixed(1)} ms on one CPU thread (median).\n`}
## Data

Seeded scenes of the world (\`models/src/world/world.ts\`): one object — shape (${SHAPES.join(', ')}) ×
colour (${COLOURS.join(', ')}) × size (small, large) at a random position with a small rotation — on a
textured background (${BACKGROUNDS.join(', ')}). Attributes no caption ever names: fill pattern
(${PATTERNS.join(', ')}) with a second colour, outline (${OUTLINES.join(', ')}), texture details. Captions are the
trainer's object templates around "[size] colour shape", plus "on <background>" 70% of the time; 10% of captions
are empty (classifier-free guidance). Held out of pretraining (never seen as an image): ${HELD_OUT.map(([a, b]) => `${a} ${b}`).join(', ')}.

## Recipe

${recipe}; ${f.steps} steps (${f.steps * Number(f.recipe.batchSize ?? 0)} images), AdamW (β 0.9/0.999, weight decay
1e-2) with linear warm-up, global-norm gradient clipping, every weight a trainable input of one ONNX gradient
graph, onnxruntime-node on the CPU with one intra-op thread. The exported weights are the EMA of the weights.
${phases}
- Final training loss (mean of the last 200 steps): **${finalLoss(f.losses).toFixed(4)}**
- CPU time: ${f.cpuSeconds.toFixed(0)} s (${hours} h) of one core

| step | mean loss over the preceding window |
|---|---|
${curve}

Reproduce (same seed → same weights; interrupted runs resume from the checkpoint in \`.plateau/pretrain/\`):

\`\`\`sh
${f.command}
\`\`\`

## Samples

![contact sheet](${f.sheet.file})

Rows: ${f.sheet.rows.join(', ')}; columns: ${f.sheet.cols.join(', ')}. Prompt "a photo of a <colour> <shape>",
DDIM ${f.sampling.steps} steps, guidance ${f.sampling.guidance}, seed ${f.sampling.seed}. The held-out pairs above
appear in the sheet although pretraining never showed them.
${f.evaluation ? evaluationSection(f.evaluation, f.sampling.seed + 1) : ''}${sweepTable(f.guidanceSweep ?? [])}`;
}
