// The rule list: every rules/<OpType>.ts file is registered exactly once under its own op type, the default
// registry accepts the whole list, and registering any listed rule a second time throws naming the op.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRegistry, GradRegistry } from '../../../../trainer-image/src/autodiff/registry.ts';
import { ALL_RULES } from '../../../../trainer-image/src/autodiff/rules/index.ts';

const RULES_DIR = join(process.cwd(), 'trainer-image/src/autodiff/rules');

describe('ALL_RULES', () => {
  it('lists one rule per rules/<OpType>.ts file, named after its file', () => {
    const files = readdirSync(RULES_DIR)
      .filter((f) => /^[A-Z]\w*\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(ALL_RULES.map((r) => r.opType).sort()).toEqual(files);
  });

  it('registers in the default registry, and a second registration of any rule throws', () => {
    const registry = defaultRegistry();
    expect(registry.opTypes).toEqual(ALL_RULES.map((r) => r.opType).sort());
    const again = new GradRegistry();
    for (const rule of ALL_RULES) again.register(rule);
    for (const rule of ALL_RULES) {
      expect(() => again.register(rule)).toThrow(`gradient rule for ${rule.opType} registered twice`);
    }
  });

  it('covers every op on the differentiable path of the SD exports', () => {
    const needed = ['Add', 'Cast', 'Concat', 'Conv', 'Cos', 'Div', 'Erf', 'Gather', 'Gemm', 'Identity'];
    needed.push(
      'InstanceNormalization',
      'LayerNormalization',
      'MatMul',
      'Mul',
      'Reshape',
      'Resize',
      'Sigmoid',
    );
    needed.push(
      'Sin',
      'Slice',
      'Softmax',
      'Split',
      'Sqrt',
      'Sub',
      'Transpose',
      'Unsqueeze',
      'Where',
      'Expand',
    );
    const registry = defaultRegistry();
    expect(needed.filter((op) => !registry.has(op))).toEqual([]);
  });
});
