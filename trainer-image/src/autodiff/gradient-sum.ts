// Gradient accumulation: every contribution to a tensor's gradient is collected during the backward sweep and
// summed once, when the gradient is first read (one Sum for fan-out, or one Concat when the pieces tile an axis).
import type { ConstTensor } from '../onnx/typed-values.ts';
import type { GradientEmitter } from './emitter.ts';

export class GradientSum {
  private readonly contributions = new Map<string, string[]>();
  private readonly emitter: GradientEmitter;
  private readonly constValueOf: (name: string) => ConstTensor | undefined;

  constructor(emitter: GradientEmitter, constValueOf: (name: string) => ConstTensor | undefined) {
    this.emitter = emitter;
    this.constValueOf = constValueOf;
  }

  add(tensor: string, grad: string): void {
    const list = this.contributions.get(tensor);
    if (list) list.push(grad);
    else this.contributions.set(tensor, [grad]);
  }

  /** The summed gradient of a tensor (one Sum node for fan-out), or undefined when none arrived. */
  gradientOf(tensor: string): string | undefined {
    const list = this.contributions.get(tensor);
    if (!list || list.length === 0) return undefined;
    if (list.length === 1) return list[0];
    const tiles = padTiles(list, this.emitter, this.constValueOf);
    const [sum] =
      tiles === undefined
        ? this.emitter.emit(`grad/${tensor}`, 'Sum', list, 1)
        : this.emitter.emit(`grad/${tensor}`, 'Concat', tiles.pieces, 1, {
            axis: { type: 'int', value: tiles.axis },
          });
    const total = sum ?? '';
    const known = this.emitter.info.get(tensor);
    if (known) this.emitter.info.set(total, { dataType: known.dataType, dims: known.dims });
    this.contributions.set(tensor, [total]);
    return total;
  }
}

/** One contribution as a zero Pad of `piece` along one axis: `begin` zeros, the piece's `size`, `end` zeros. */
interface Span {
  readonly axis: number;
  readonly begin: number;
  readonly size: number;
  readonly end: number;
  readonly piece: string;
}

/**
 * When every contribution is a zero Pad of a piece along one common axis and the pieces tile that axis (the
 * Slice gradients of a chunk, such as GEGLU's two halves), their sum is the pieces concatenated: one Concat
 * instead of padding each piece to full size and adding the zeros.
 */
function padTiles(
  list: readonly string[],
  emitter: GradientEmitter,
  constValueOf: (name: string) => ConstTensor | undefined,
): { axis: number; pieces: string[] } | undefined {
  let axis = -1;
  const spans: Span[] = [];
  for (const grad of list) {
    const span = padSpan(grad, axis, emitter, constValueOf);
    if (!span) return undefined;
    axis = span.axis;
    spans.push(span);
  }
  spans.sort((p, q) => p.begin - q.begin);
  const total = spans.reduce((t, p) => t + p.size, 0);
  let at = 0;
  for (const p of spans) {
    if (p.begin !== at || p.begin + p.size + p.end !== total) return undefined;
    at += p.size;
  }
  return axis < 0 ? undefined : { axis, pieces: spans.map((p) => p.piece) };
}

/** `grad` as a Span when an emitted constant-mode zero Pad along one axis (`axis` when already fixed) made it. */
function padSpan(
  grad: string,
  axis: number,
  emitter: GradientEmitter,
  constValueOf: (name: string) => ConstTensor | undefined,
): Span | undefined {
  const pad = emitter.producerOf(grad);
  if (pad?.opType !== 'Pad' || pad.inputs.length < 2) return undefined;
  const mode = pad.attributes.mode;
  if (mode !== undefined && !(mode.type === 'string' && mode.value === 'constant')) return undefined;
  const fill = pad.inputs[2] ? constValueOf(pad.inputs[2]) : undefined;
  if (pad.inputs[2] && (fill === undefined || fill.values.some((v) => Number(v) !== 0))) return undefined;
  const [piece = '', padsName = ''] = pad.inputs;
  const pads = constValueOf(padsName)?.values.map((v) => Number(v));
  const dims = emitter.info.get(piece)?.dims;
  if (!pads || !dims || pads.length !== 2 * dims.length) return undefined;
  const rank = dims.length;
  const padded = Array.from({ length: rank }, (_, a) => a).filter(
    (a) => pads[a] !== 0 || pads[rank + a] !== 0,
  );
  if (padded.length > 1 || pads.some((p) => p < 0)) return undefined;
  const a = padded[0] ?? axis;
  if (a < 0 || (axis >= 0 && a !== axis)) return undefined;
  const size = dims[a];
  if (typeof size !== 'number') return undefined;
  return { axis: a, begin: pads[a] ?? 0, size, end: pads[rank + a] ?? 0, piece };
}
