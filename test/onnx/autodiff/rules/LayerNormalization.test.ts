/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// LayerNormalization's gradient against central finite differences (x, scale and bias): the last axis, the last
// two axes, no bias, and the paths for a builder without savedOutput (recomputed and fused statistics).
import type { GradContext, GradRule } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { GradRegistry } from '../../../../trainer-image/src/autodiff/registry.ts';
import { ALL_RULES } from '../../../../trainer-image/src/autodiff/rules/index.ts';
import { layerNormalizationGrad } from '../../../../trainer-image/src/autodiff/rules/LayerNormalization.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

/** The rule as a builder without savedOutput sees it: statistics recomputed (float64) or fused (float32). */
const withoutSaved: GradRule = {
  ...layerNormalizationGrad,
  build: (g) =>
    layerNormalizationGrad.build(
      new Proxy(g, {
        get: (target, key) => (key === 'savedOutput' ? undefined : Reflect.get(target, key)),
      }) as GradContext,
    ),
};

function registryWithoutSaved(): GradRegistry {
  const registry = new GradRegistry();
  for (const rule of ALL_RULES) registry.register(rule.opType === 'LayerNormalization' ? withoutSaved : rule);
  return registry;
}

describe('LayerNormalization gradient', () => {
  it('matches finite differences over the last axis', async () => {
    await expectGradientsMatch({
      opType: 'LayerNormalization',
      inputs: [{ dims: [2, 3, 5], range: [-2, 2] }, { dims: [5] }, { dims: [5] }],
      attrs: { epsilon: attr.float(1e-5) },
    });
  });

  it('matches finite differences over the last two axes without bias', async () => {
    await expectGradientsMatch({
      opType: 'LayerNormalization',
      inputs: [{ dims: [2, 3, 4], range: [-2, 2] }, { dims: [3, 4] }],
      attrs: { axis: attr.int(1) },
    });
  });

  it('matches finite differences in float32 (stash_type 1)', async () => {
    await expectGradientsMatch({
      opType: 'LayerNormalization',
      inputs: [{ dims: [2, 8], range: [-2, 2] }, { dims: [8] }, { dims: [8] }],
      attrs: { stash_type: attr.int(1) },
      dtype: 'float32',
    });
  });

  it.each(['float64', 'float32'] as const)(
    'matches finite differences without saved statistics (%s)',
    async (dtype) => {
      await expectGradientsMatch({
        opType: 'LayerNormalization',
        inputs: [{ dims: [2, 3, 4], range: [-2, 2] }, { dims: [3, 4] }, { dims: [3, 4] }],
        attrs: { axis: attr.int(-2) },
        dtype,
        registry: registryWithoutSaved(),
      });
    },
  );
});
