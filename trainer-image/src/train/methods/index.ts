// The registry of training methods: a job's method name and settings → its TrainingMethod. Adding a method is one
// file in this folder and one case here.
import type { MethodName } from '../../../../shared/methods.ts';
import { type CustomDiffusionConfig, customDiffusion } from './custom-diffusion.ts';
import { dreamboothLora, type LoraConfig } from './dreambooth-lora.ts';
import type { TrainingMethod } from './method.ts';
import { textualInversion } from './textual-inversion.ts';

/** A method and its own settings, as the manifest (or `plateau train`) gives them. */
export type MethodConfig =
  | { readonly name: 'textual-inversion' }
  | ({ readonly name: 'dreambooth-lora' } & LoraConfig)
  | ({ readonly name: 'custom-diffusion' } & CustomDiffusionConfig);

export function methodFor(config: MethodConfig): TrainingMethod {
  switch (config.name) {
    case 'textual-inversion':
      return textualInversion();
    case 'dreambooth-lora':
      return dreamboothLora(config);
    case 'custom-diffusion':
      return customDiffusion(config);
    default: {
      const name: MethodName = (config as { name: MethodName }).name;
      throw new Error(`method ${name} is not available in this version of plateau`);
    }
  }
}
