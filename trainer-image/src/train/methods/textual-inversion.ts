// Textual inversion: only the new token row is trained (Gal et al.; the DVAR paper's TI v1), so the method adds
// nothing to the UNet and writes nothing beyond the token file.
import type { TrainingMethod } from './method.ts';

export function textualInversion(): TrainingMethod {
  return {
    name: 'textual-inversion',
    group: 'token',
    fingerprint: {},
    initial(tensor) {
      throw new Error(`textual inversion has no method tensor '${tensor.name}'`);
    },
    outputs: () => [],
  };
}
