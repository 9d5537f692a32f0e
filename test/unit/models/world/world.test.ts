// The world generator: deterministic for a seed, different across seeds, captions from the vocabulary that never
// name the hidden attributes, held-out colour/shape pairs absent from pretraining batches.

import { captionFor, HELD_OUT, isHeldOut, vocabulary } from '../../../../models/src/world/captions.ts';
import { sampleWorldBatch } from '../../../../models/src/world/dataset.ts';
import {
  COLOURS,
  fromModelOutput,
  IMAGE_SIZE,
  PATTERNS,
  renderScene,
  sampleConcept,
  sampleScene,
  toModelInput,
} from '../../../../models/src/world/world.ts';
import { Rng } from '../../../../trainer-image/src/train/rng.ts';

function batchBytes(seed: number): { images: Uint8Array; captions: readonly string[] } {
  const batch = sampleWorldBatch(Rng.forStream(seed, 'world-test'), 8, 0.1);
  return { images: new Uint8Array(batch.images.buffer), captions: batch.captions };
}

describe('world generator', () => {
  it('gives identical bytes and captions for the same seed', () => {
    const a = batchBytes(5);
    const b = batchBytes(5);
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
    expect(a.captions).toEqual(b.captions);
  });

  it('gives different images for different seeds', () => {
    expect(Buffer.from(batchBytes(5).images).equals(Buffer.from(batchBytes(6).images))).toBe(false);
  });

  it('renders 32×32 RGB that round-trips through the model input range', () => {
    const scene = sampleScene(Rng.forStream(1, 'scene'));
    const rgb = renderScene(scene);
    expect(rgb).toHaveLength(IMAGE_SIZE * IMAGE_SIZE * 3);
    const chw = toModelInput(rgb);
    expect(Math.max(...chw)).toBeLessThanOrEqual(1);
    expect(Math.min(...chw)).toBeGreaterThanOrEqual(-1);
    expect(Buffer.from(fromModelOutput(chw)).equals(Buffer.from(rgb))).toBe(true);
  });

  it('draws the object: pixels near its centre have its colour for a solid concept', () => {
    const rng = Rng.forStream(2, 'solid');
    const scene = sampleScene(
      rng,
      {
        ...sampleConcept(rng),
        shape: 'square',
        colour: 'red',
        pattern: 'solid',
        outline: 'none',
        size: 'large',
      },
      'grass',
    );
    const rgb = renderScene(scene);
    const i = (Math.round(scene.cy) * IMAGE_SIZE + Math.round(scene.cx)) * 3;
    expect([rgb[i], rgb[i + 1], rgb[i + 2]]).toEqual([220, 30, 35]);
  });

  it('writes captions only from the vocabulary and never names patterns or outlines', () => {
    const words = new Set(vocabulary());
    const rng = Rng.forStream(3, 'captions');
    // Outline values 'dark'/'light' are also template words ("a dark photo of"), so the check is on patterns.
    const hidden = new Set<string>([...PATTERNS, 'outline', 'pattern']);
    for (let k = 0; k < 300; k++) {
      const caption = captionFor(sampleScene(rng), rng);
      for (const w of caption.split(/\s+/)) {
        expect(words.has(w)).toBe(true);
        expect(hidden.has(w)).toBe(false);
      }
    }
    expect(vocabulary().slice(0, 3)).toEqual(['<|startoftext|>', '<|pad|>', '<|endoftext|>']);
  });

  it('keeps held-out colour/shape pairs out of pretraining batches', () => {
    expect(HELD_OUT.every(([c, s]) => isHeldOut(c, s))).toBe(true);
    const batch = sampleWorldBatch(Rng.forStream(4, 'held-out'), 200);
    expect(batch.scenes.some((s) => isHeldOut(s.colour, s.shape))).toBe(false);
    expect(new Set(batch.scenes.map((s) => s.colour)).size).toBe(COLOURS.length);
  });
});
