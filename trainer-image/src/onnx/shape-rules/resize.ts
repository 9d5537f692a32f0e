// Shape rules of Resize and Upsample: output sizes from the `sizes` input, else input dims times the scales
// (an input or, for old Upsample, an attribute); batch and channels kept when nothing is known.
import type { Dim } from '../typed-values.ts';
import { floatsAttr, forOps, type InfoMap, type ShapeRule, type ShapeRuleEntry } from './shape-rule.ts';

const resize: ShapeRule = ({ node, info, x, numbersOf }) => {
  const op = node.opType;
  const d = x?.dims;
  const scalesName = op === 'Upsample' ? node.inputs[1] : node.inputs[2];
  const scales = scalesName ? constFloats(scalesName, info) : undefined;
  const sizes = op === 'Resize' && node.inputs[3] ? numbersOf(3) : undefined;
  const attrScales = floatsAttr(node, 'scales');
  const s = scales ?? attrScales;
  let dims: Dim[] | undefined;
  if (d && sizes) dims = sizes;
  else if (d && s && s.length === d.length) {
    dims = d.map((v, i) =>
      typeof v === 'number' ? Math.floor(v * (s[i] ?? 1)) : s[i] === 1 ? v : undefined,
    );
  } else if (d) dims = d.map((v, i) => (i < 2 ? v : undefined));
  return [{ dataType: x?.dataType ?? 0, dims }];
};

function constFloats(name: string, info: InfoMap): number[] | undefined {
  const s = info.get(name)?.sym;
  if (s?.every((v) => typeof v === 'number')) return s as number[];
  const f = info.get(name)?.floats;
  return f ? [...f] : undefined;
}

export const RESIZE_SHAPE_RULES: readonly ShapeRuleEntry[] = forOps(['Resize', 'Upsample'], resize);
