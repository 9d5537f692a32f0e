// The explicit table of shape rules: op type → rule, gathered from one module per op family. An op in two
// families throws at load; an op missing here infers nothing (its outputs fall back to the export's value_info).
import { BROADCAST_SHAPE_RULES } from './broadcast.ts';
import { ELEMENTWISE_SHAPE_RULES } from './elementwise.ts';
import { GENERATOR_SHAPE_RULES } from './generators.ts';
import { LAYOUT_SHAPE_RULES } from './layout.ts';
import { LINEAR_SHAPE_RULES } from './linear.ts';
import { REDUCE_SHAPE_RULES } from './reduce.ts';
import { RESIZE_SHAPE_RULES } from './resize.ts';
import type { ShapeRule, ShapeRuleEntry } from './shape-rule.ts';
import { SLICING_SHAPE_RULES } from './slicing.ts';

/** A table from entries; an op type given twice is an error naming it. */
export function shapeRuleTable(entries: readonly ShapeRuleEntry[]): ReadonlyMap<string, ShapeRule> {
  const table = new Map<string, ShapeRule>();
  for (const [opType, rule] of entries) {
    if (table.has(opType)) throw new Error(`shape rule for ${opType} registered twice`);
    table.set(opType, rule);
  }
  return table;
}

export const SHAPE_RULES: ReadonlyMap<string, ShapeRule> = shapeRuleTable([
  ...ELEMENTWISE_SHAPE_RULES,
  ...BROADCAST_SHAPE_RULES,
  ...LINEAR_SHAPE_RULES,
  ...LAYOUT_SHAPE_RULES,
  ...SLICING_SHAPE_RULES,
  ...GENERATOR_SHAPE_RULES,
  ...REDUCE_SHAPE_RULES,
  ...RESIZE_SHAPE_RULES,
]);
