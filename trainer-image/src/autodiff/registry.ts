// The explicit gradient-rule registry (duplicates throw, unlike tfjs) and the ops whose outputs carry no
// gradient at all (shape arithmetic, comparisons, index producers): gradients stop there without a rule.
import type { GradRule } from './grad-rule.ts';
import { ALL_RULES } from './rules/index.ts';

/** Ops whose outputs are piecewise constant or integer-valued: no gradient flows through them. */
export const NO_GRADIENT_OPS: ReadonlySet<string> = new Set([
  'Shape',
  'Size',
  'Equal',
  'Less',
  'LessOrEqual',
  'Greater',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
  'NonZero',
  'ArgMax',
  'ArgMin',
  'ConstantOfShape',
  'Range',
  'Constant',
  'RandomNormal',
  'RandomNormalLike',
  'RandomUniform',
  'RandomUniformLike',
  'Multinomial',
  'EyeLike',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'BitShift',
  'BitwiseAnd',
  'BitwiseOr',
  'BitwiseXor',
  'BitwiseNot',
]);

export class GradRegistry {
  private readonly rules = new Map<string, GradRule>();

  register(rule: GradRule): this {
    if (this.rules.has(rule.opType)) {
      throw new Error(`gradient rule for ${rule.opType} registered twice`);
    }
    if (NO_GRADIENT_OPS.has(rule.opType)) {
      throw new Error(`${rule.opType} is a no-gradient op; it cannot have a gradient rule`);
    }
    this.rules.set(rule.opType, rule);
    return this;
  }

  get(opType: string): GradRule | undefined {
    return this.rules.get(opType);
  }

  has(opType: string): boolean {
    return this.rules.has(opType);
  }

  /** Whether the op's outputs never carry a gradient. */
  isNonDifferentiable(opType: string): boolean {
    return NO_GRADIENT_OPS.has(opType);
  }

  get opTypes(): string[] {
    return [...this.rules.keys()].sort();
  }
}

/** A registry with every rule in rules/index.ts. */
export function defaultRegistry(): GradRegistry {
  const registry = new GradRegistry();
  for (const rule of ALL_RULES) registry.register(rule);
  return registry;
}
