// The new-job form's setup: the methods' defaults from shared/methods.ts, Custom Diffusion's with the manifest's
// random-rescale default, and base models' own settings for the loaded models only.
import type { ModelTrainingTable } from '../../../console/api-types.ts';
import { setupView } from '../../../console/setup-view.ts';
import { JobManifest } from '../../../shared/manifest.ts';
import { CUSTOM_DIFFUSION_DEFAULTS, METHOD_DEFAULTS } from '../../../shared/methods.ts';

const table: ModelTrainingTable = {
  own: {
    'custom-diffusion': { learningRate: 1e-4, tokenLearningRate: 1e-2, snrGamma: 5, randomRescale: false },
  },
  absent: { 'textual-inversion': { learningRate: 2e-2, snrGamma: 5 } },
};

describe('setupView', () => {
  it("sends Custom Diffusion's defaults and the random rescale a job without one gets", () => {
    const setup = setupView([]);
    const job = JobManifest.parse({ method: 'custom-diffusion', token: '<t>' });
    if (job.method !== 'custom-diffusion') throw new Error('not a custom-diffusion job');
    expect(setup.customDiffusion).toEqual({ ...CUSTOM_DIFFUSION_DEFAULTS, randomRescale: true });
    // The form's defaults are what the pipeline fills for a job that leaves them out.
    expect(setup.customDiffusion).toEqual(job.customDiffusion);
    expect(setup.defaults).toEqual(METHOD_DEFAULTS);
  });

  it('carries the settings of loaded models only, and none for a model without its own', () => {
    const setup = setupView(['own', 'plain'], table);
    expect(setup.models).toEqual(['own', 'plain']);
    expect(setup.modelTraining).toEqual({ own: table.own });
    expect(setupView(['plain']).modelTraining).toEqual({});
  });

  it('does not take inherited names for models (a model called constructor)', () => {
    expect(setupView(['constructor', 'toString'], table).modelTraining).toEqual({});
  });
});
