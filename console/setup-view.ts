// The new-job form's setup (GET /api/setup): the methods and their defaults, the loaded base models, and the
// settings of those models that have their own, so the page only shows what the server decided.
import { JobManifest, TRAINABLE_METHODS } from '../shared/manifest.ts';
import { CUSTOM_DIFFUSION_DEFAULTS, LORA_DEFAULTS, METHOD_DEFAULTS, METHODS } from '../shared/methods.ts';
import type { ModelTrainingTable, SetupView } from './api-types.ts';

/** Random rescale's default lives in the manifest schema (CUSTOM_DIFFUSION_DEFAULTS has none): ask it. */
function manifestRandomRescale(): boolean {
  const job = JobManifest.parse({ method: 'custom-diffusion', token: '<setup>' });
  if (job.method !== 'custom-diffusion') throw new Error(`a custom-diffusion job parsed as ${job.method}`);
  return job.customDiffusion.randomRescale;
}

/**
 * The setup for `models` (the base models in the bucket). `modelTraining` is every model's own settings that the
 * caller knows of (`plateau up` passes the embedded model's); only the loaded ones are sent.
 */
export function setupView(models: readonly string[], modelTraining: ModelTrainingTable = {}): SetupView {
  return {
    methods: METHODS,
    trainable: TRAINABLE_METHODS,
    defaults: METHOD_DEFAULTS,
    lora: LORA_DEFAULTS,
    customDiffusion: { ...CUSTOM_DIFFUSION_DEFAULTS, randomRescale: manifestRandomRescale() },
    models,
    modelTraining: Object.fromEntries(
      models.flatMap((name) => {
        const own = Object.hasOwn(modelTraining, name) ? modelTraining[name] : undefined;
        return own ? [[name, own]] : [];
      }),
    ),
  };
}
