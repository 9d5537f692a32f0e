/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Conv's gradient against central finite differences (X, W and B), in float32 (onnxruntime's CPU Conv has no
// double): SD's 3×3 pad-1 conv, the stride-2 downsampler whose last row needs output_padding (static dims) or
// the run-time Slice + Pad (symbolic dims), 1×1 projections, groups (depthwise and 2 groups), dilation, auto_pad
// SAME_UPPER and a 1-D conv. Unit-stride single-group convs take dX as a Conv with the flipped, channel-swapped
// kernel (asymmetric pads and symbolic dims included); pads beyond the kernel's reach fall back to ConvTranspose.
import type { Attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

interface ConvCase {
  readonly x: number[];
  readonly w: number[];
  readonly bias?: boolean;
  readonly symbolic?: boolean;
  readonly attrs: Record<string, Attr>;
}

const cases: [string, ConvCase][] = [
  [
    '3×3, pad 1, bias',
    { x: [2, 3, 5, 4], w: [4, 3, 3, 3], bias: true, attrs: { pads: attr.ints([1, 1, 1, 1]) } },
  ],
  [
    'stride 2, pad 1, even size (output_padding)',
    {
      x: [1, 2, 6, 5],
      w: [3, 2, 3, 3],
      attrs: { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) },
    },
  ],
  [
    'stride 2, pad 1, symbolic dims (run-time crop)',
    {
      x: [1, 2, 6, 5],
      w: [3, 2, 3, 3],
      symbolic: true,
      attrs: { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) },
    },
  ],
  [
    'stride 3, no pads, symbolic dims (run-time crop and zero rows)',
    { x: [1, 2, 8, 7], w: [2, 2, 2, 2], symbolic: true, attrs: { strides: attr.ints([3, 3]) } },
  ],
  [
    'strides 3 and 2, asymmetric pads',
    {
      x: [1, 2, 7, 5],
      w: [2, 2, 2, 3],
      attrs: { pads: attr.ints([0, 1, 0, 0]), strides: attr.ints([3, 2]) },
    },
  ],
  ['1×1 projection', { x: [2, 4, 3, 3], w: [5, 4, 1, 1], bias: true, attrs: {} }],
  [
    'unit stride, asymmetric pads, non-square kernel',
    { x: [2, 3, 5, 6], w: [2, 3, 3, 2], attrs: { pads: attr.ints([2, 0, 1, 1]) } },
  ],
  [
    'unit stride, symbolic dims',
    { x: [1, 2, 5, 4], w: [3, 2, 3, 3], symbolic: true, attrs: { pads: attr.ints([1, 1, 1, 1]) } },
  ],
  [
    '1×1 with pad 1 (beyond the kernel: ConvTranspose fallback)',
    { x: [1, 2, 3, 3], w: [2, 2, 1, 1], attrs: { pads: attr.ints([1, 1, 1, 1]) } },
  ],
  [
    'depthwise (group = channels)',
    { x: [1, 3, 4, 4], w: [3, 1, 3, 3], attrs: { group: attr.int(3), pads: attr.ints([1, 1, 1, 1]) } },
  ],
  ['2 groups', { x: [2, 4, 4, 3], w: [6, 2, 3, 2], bias: true, attrs: { group: attr.int(2) } }],
  [
    'dilation 2',
    {
      x: [1, 2, 7, 6],
      w: [2, 2, 3, 3],
      attrs: { dilations: attr.ints([2, 2]), pads: attr.ints([2, 1, 2, 1]) },
    },
  ],
  [
    'auto_pad SAME_UPPER, stride 2',
    {
      x: [1, 2, 5, 6],
      w: [2, 2, 3, 3],
      attrs: { auto_pad: attr.string('SAME_UPPER'), strides: attr.ints([2, 2]) },
    },
  ],
  ['1-D', { x: [2, 3, 9], w: [2, 3, 3], bias: true, attrs: { pads: attr.ints([1, 1]) } }],
];

describe('Conv gradient', () => {
  it.each(cases)('matches finite differences (%s)', async (_, c) => {
    await expectGradientsMatch({
      opType: 'Conv',
      inputs: [
        { dims: c.x, symbolic: c.symbolic ?? false },
        { dims: c.w, range: [-0.5, 0.5] },
        ...(c.bias ? [{ dims: [c.w[0] ?? 1] }] : []),
      ],
      attrs: c.attrs,
      dtype: 'float32',
      maxProbes: 200,
    });
  });
});
