// What a personalization method is to the trainer: which UNet tensors it trains beside the token row (a graph
// rewrite that turns them into inputs, shared by training and sampling), their initial values, and the files it
// writes. Everything else — loop, DVAR, AdamW, checkpoints, batches, sampler — is the same for every method.
import type { MethodName } from '../../../../shared/methods.ts';
import type { Fingerprint } from '../checkpoint.ts';
import type { Rng } from '../rng.ts';
import type { UnetSurgery } from '../training-graph.ts';

/** One output file of a run, relative to the job's prefix (e.g. `output/<token>-lora.safetensors`). */
export interface OutputFile {
  readonly key: string;
  readonly body: Uint8Array;
  readonly contentType: string;
}

/** A trained (or initial) method tensor by its graph input name. */
export interface NamedTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export interface MethodOutputContext {
  readonly token: string;
  readonly pipelineDir: string;
  /** Text encoder hidden size (768 for SD 1.x, 1024 for SD 2.x). */
  readonly hiddenSize: number;
  readonly predictionType: 'epsilon' | 'v_prediction';
  /** plateau.* metadata facts (steps, stop reason, …) every file carries. */
  readonly facts: Readonly<Record<string, string | number | boolean | null>>;
}

export interface TrainingMethod {
  readonly name: MethodName;
  /** Parameter group of the method's tensors (the token row's group is 'token'). */
  readonly group: string;
  /** Rewrites the UNet so the method's tensors become graph inputs; absent when only the token is trained. */
  readonly unetSurgery?: UnetSurgery;
  /** Settings of the method that change the run's numbers (kept in checkpoints, compared on resume). */
  readonly fingerprint: Fingerprint;
  /** Clip the gradient of all trained tensors together to this L2 norm before AdamW; absent = no clipping. */
  readonly maxGradNorm?: number;
  /** The one caption of every training image, in place of the job's templates; absent = the templates. */
  readonly caption?: (token: string) => string;
  /**
   * How prompts name the learned concept when sampling (validation samples, the benchmark's identity checks):
   * Custom Diffusion trains "<token> <class word>" and its prior keeps the class word itself unchanged, so the
   * token alone carries only what sets the concept apart from its class. Absent: the token alone.
   */
  readonly promptSubject?: (token: string) => string;
  /**
   * Custom Diffusion's augmentation (random-rescale.ts): instance items of training batches randomly zoomed out
   * or in, the loss masked to the image, the caption hinted. Absent or false: none.
   */
  readonly randomRescale?: boolean;
  /** Prior preservation: class images captioned `prompt` join every batch (loss weight `weight`); absent = none. */
  readonly prior?: { readonly prompt: string; readonly images: number; readonly weight: number };
  /** Starting values of one method tensor; random draws come from `rng` (the run's "init" stream). */
  initial(tensor: { readonly name: string; readonly dims: readonly number[] }, rng: Rng): Float32Array;
  /** The method's own output files (the token file is written for every method). */
  outputs(tensors: readonly NamedTensor[], context: MethodOutputContext): OutputFile[];
}
