// The registry rejects duplicate rules and rules for no-gradient ops.
import { GradRegistry, NO_GRADIENT_OPS } from '../../../trainer-image/src/autodiff/registry.ts';

describe('GradRegistry', () => {
  it('throws on a duplicate op type', () => {
    const reg = new GradRegistry().register({ opType: 'Relu', build: () => {} });
    expect(reg.get('Relu')?.opType).toBe('Relu');
    expect(() => reg.register({ opType: 'Relu', build: () => {} })).toThrow(/Relu registered twice/);
  });
  it('knows the no-gradient ops', () => {
    expect(NO_GRADIENT_OPS.has('Shape')).toBe(true);
    expect(new GradRegistry().isNonDifferentiable('Equal')).toBe(true);
    expect(() => new GradRegistry().register({ opType: 'Shape', build: () => {} })).toThrow(/no-gradient/);
  });
});
