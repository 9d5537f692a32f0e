/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The harness itself: a deliberately wrong rule must fail the check, a right one pass, so the rule tests mean
// something.
import type { GradRule } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { GradRegistry } from '../../../../trainer-image/src/autodiff/registry.ts';
import { ALL_RULES } from '../../../../trainer-image/src/autodiff/rules/index.ts';
import { checkGradient } from '../../support/finite-difference.ts';

/** d(a·b)/da reported as 1.1·dy·b: a 10% error the check must see. */
const wrongMul: GradRule = {
  opType: 'Mul',
  build: (g) => {
    const go = g.go(0) ?? '';
    const scaled = g.emit('Mul', [go, g.scalarLike(1.1, go)]);
    if (g.needs(0)) g.unbroadcast(g.emit('Mul', [scaled, g.i(1)]), g.i(0), g.gi(0));
    if (g.needs(1)) g.unbroadcast(g.emit('Mul', [go, g.i(0)]), g.i(1), g.gi(1));
  },
};

function registryWith(mul: GradRule): GradRegistry {
  const registry = new GradRegistry();
  for (const rule of ALL_RULES) registry.register(rule.opType === 'Mul' ? mul : rule);
  return registry;
}

describe('finite-difference harness', () => {
  it.each(['float64', 'float32'] as const)(
    'rejects a wrong rule and accepts the right one (%s)',
    async (dtype) => {
      const inputs = [{ dims: [2, 3] }, { dims: [3] }];
      const wrong = await checkGradient({ opType: 'Mul', inputs, dtype, registry: registryWith(wrongMul) });
      expect(wrong.ok).toBe(false);
      expect(wrong.inputs.find((r) => r.name === 'x0')?.maxAbsError).toBeGreaterThan(0.01);
      const right = await checkGradient({ opType: 'Mul', inputs, dtype });
      expect(right.ok).toBe(true);
      expect(right.inputs.map((r) => r.probes)).toEqual([6, 3]);
    },
  );
});
