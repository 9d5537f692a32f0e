// The benchmark's concepts: specific objects of the procedural world, drawn from seeded streams — one stream for
// the concepts the DVAR window/threshold are tuned on, another for the held-out concepts that are only ever
// measured. Patterns cycle (solid → stripes → dots → checker) so both easy and hard concepts are in every set.
import { EXAMPLE_CONCEPT } from '../../models/src/world/example.ts';
import {
  BACKGROUNDS,
  COLOURS,
  type Concept,
  IMAGE_SIZE,
  OUTLINES,
  PATTERNS,
  renderScene,
  SHAPES,
  SIZES,
  sampleScene,
  toModelInput,
} from '../../models/src/world/world.ts';
import type { PixelImage } from '../../trainer-image/src/train/batches.ts';
import { Rng } from '../../trainer-image/src/train/rng.ts';

export type ConceptSet = 'tuning' | 'held-out';

export interface BenchConcept {
  readonly id: string;
  readonly set: ConceptSet;
  readonly concept: Concept;
  /** The placeholder token learned for it. */
  readonly token: string;
  /** The word the token row starts from (its shape, as the bundled example does). */
  readonly initializer: string;
  /** Training images (CHW in [−1, 1]) on varied backgrounds. */
  readonly images: readonly PixelImage[];
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.nextInt(items.length)]!;
}

function sameConcept(a: Concept, b: Concept): boolean {
  return (
    a.shape === b.shape &&
    a.colour === b.colour &&
    a.size === b.size &&
    a.pattern === b.pattern &&
    a.patternColour === b.patternColour &&
    a.outline === b.outline
  );
}

export function describeConcept(c: Concept): string {
  const fill = c.pattern === 'solid' ? 'solid' : `${c.pattern} of ${c.patternColour}`;
  return `${c.size} ${c.colour} ${c.shape}, ${fill}, outline ${c.outline}`;
}

/**
 * `count` concepts of one set, distinct from each other, from the other set's first 64 and from the bundled
 * example. Deterministic in (seed, set).
 */
export function benchConcepts(
  set: ConceptSet,
  count: number,
  seed: number,
  imagesPerConcept = 5,
): BenchConcept[] {
  const rng = Rng.forStream(seed, `bench-dvar-${set}`);
  const other = set === 'tuning' ? 'held-out' : 'tuning';
  const forbidden: Concept[] = [EXAMPLE_CONCEPT, ...conceptStream(seed, other, 64)];
  const chosen: BenchConcept[] = [];
  while (chosen.length < count) {
    const concept = drawConcept(rng, PATTERNS[chosen.length % PATTERNS.length]!);
    if ([...forbidden, ...chosen.map((c) => c.concept)].some((c) => sameConcept(c, concept))) continue;
    const id = `${set === 'tuning' ? 't' : 'h'}${String(chosen.length + 1).padStart(2, '0')}`;
    chosen.push({
      id,
      set,
      concept,
      token: `<bench-${id}>`,
      initializer: concept.shape,
      images: conceptImages(concept, Rng.forStream(seed, `bench-dvar-images-${set}-${id}`), imagesPerConcept),
    });
  }
  return chosen;
}

/** The first n concepts a set's stream would draw (without images), to keep the sets disjoint. */
function conceptStream(seed: number, set: ConceptSet, n: number): Concept[] {
  const rng = Rng.forStream(seed, `bench-dvar-${set}`);
  return Array.from({ length: n }, (_, i) => drawConcept(rng, PATTERNS[i % PATTERNS.length]!));
}

function drawConcept(rng: Rng, pattern: Concept['pattern']): Concept {
  const colour = pick(rng, COLOURS);
  return {
    shape: pick(rng, SHAPES),
    colour,
    size: pick(rng, SIZES),
    pattern,
    patternColour: pick(
      rng,
      COLOURS.filter((c) => c !== colour),
    ),
    outline: pick(rng, OUTLINES),
  };
}

/** Photos of the concept on distinct backgrounds (cycling when more images than backgrounds are asked for). */
export function conceptImages(concept: Concept, rng: Rng, n: number): PixelImage[] {
  const order = rng.permutation(BACKGROUNDS.length);
  return Array.from({ length: n }, (_, i) => {
    const background = BACKGROUNDS[order[i % order.length]!]!;
    const rgb = renderScene(sampleScene(rng, concept, background));
    return { data: toModelInput(rgb), channels: 3, height: IMAGE_SIZE, width: IMAGE_SIZE };
  });
}
