// The trainable tensors of a run packed in one flat Float32Array: the loop, AdamW, checkpoints and DVAR see one
// vector, while the model feeds each tensor as a zero-copy view under its graph input name.

/** One trainable tensor: its graph input name, shape, parameter group (for its learning rate) and initial values. */
export interface TrainableSpec {
  readonly name: string;
  readonly dims: readonly number[];
  /** Parameter group, e.g. 'token' or 'lora' (each group may have its own learning rate). */
  readonly group: string;
  readonly initial: Float32Array;
}

export interface TrainableSlot {
  readonly name: string;
  readonly dims: readonly number[];
  readonly group: string;
  readonly offset: number;
  readonly size: number;
}

export interface TrainableLayout {
  readonly slots: readonly TrainableSlot[];
  /** Total number of trainable values. */
  readonly size: number;
}

const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export function layoutOf(specs: readonly Omit<TrainableSpec, 'initial'>[]): TrainableLayout {
  const seen = new Set<string>();
  let offset = 0;
  const slots = specs.map((spec) => {
    if (seen.has(spec.name)) throw new Error(`trainable tensor '${spec.name}' is listed twice`);
    seen.add(spec.name);
    const size = count(spec.dims);
    if (!Number.isInteger(size) || size < 1) throw new Error(`trainable '${spec.name}' has no values`);
    const slot = { name: spec.name, dims: [...spec.dims], group: spec.group, offset, size };
    offset += size;
    return slot;
  });
  return { slots, size: offset };
}

/** The packed initial values of `specs`, in layout order. */
export function packInitial(layout: TrainableLayout, specs: readonly TrainableSpec[]): Float32Array {
  const values = new Float32Array(layout.size);
  for (const slot of layout.slots) {
    const spec = specs.find((s) => s.name === slot.name);
    if (!spec || spec.initial.length !== slot.size) {
      throw new Error(`trainable '${slot.name}': initial values missing or of the wrong size`);
    }
    values.set(spec.initial, slot.offset);
  }
  return values;
}

/** A zero-copy view of one tensor inside the packed values. */
export function slotView(values: Float32Array, slot: TrainableSlot): Float32Array {
  return values.subarray(slot.offset, slot.offset + slot.size);
}

export function findSlot(layout: TrainableLayout, name: string): TrainableSlot {
  const slot = layout.slots.find((s) => s.name === name);
  if (!slot) throw new Error(`no trainable tensor named '${name}'`);
  return slot;
}

/** Contiguous ranges with one learning rate each, from a learning rate per group (missing groups get `base`). */
export function learningRateRanges(
  layout: TrainableLayout,
  base: number,
  perGroup: Readonly<Record<string, number>> = {},
): { readonly start: number; readonly end: number; readonly lr: number }[] {
  return layout.slots.map((slot) => ({
    start: slot.offset,
    end: slot.offset + slot.size,
    lr: perGroup[slot.group] ?? base,
  }));
}
