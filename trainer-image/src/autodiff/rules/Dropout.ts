// Dropout in inference mode (training_mode absent or a constant false, as exports leave it): y = x, so dx = dy.
// A training-mode Dropout would need its mask and is an error. ratio and training_mode get no gradient.
import type { GradRule } from '../grad-rule.ts';
import { constInts, requireGo } from './helpers.ts';

export const dropoutGrad: GradRule = {
  opType: 'Dropout',
  nonDifferentiableInputs: [1, 2],
  build: (g) => {
    if (!g.needs(0)) return;
    const mode = g.inputCount > 2 ? g.i(2) : '';
    if (mode !== '' && constInts(g, mode)?.[0] !== 0) {
      throw new Error(`Dropout node '${g.nodeName}': no gradient in training mode`);
    }
    g.bind(requireGo(g), g.gi(0));
  },
};
