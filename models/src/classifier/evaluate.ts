// Evidence that the base model draws what it is asked: sample "a photo of a <colour> <shape>" for the held-out
// pairs (never seen in pretraining) and for as many seen pairs, and let the attribute classifier say whether
// each image has the right colour and shape.

import type { PipelineSampler } from '../sampler/pipeline-sampler.ts';
import { HELD_OUT, isHeldOut } from '../world/captions.ts';
import type { Colour, Shape } from '../world/world.ts';
import { COLOURS, SHAPES } from '../world/world.ts';
import type { AttributeClassifier } from './classifier.ts';

export interface PairScore {
  readonly colour: Colour;
  readonly shape: Shape;
  readonly images: number;
  readonly colourCorrect: number;
  readonly shapeCorrect: number;
  readonly bothCorrect: number;
}

export interface Evaluation {
  readonly heldOut: readonly PairScore[];
  readonly seen: readonly PairScore[];
  /** Fraction of held-out images with both colour and shape right. */
  readonly heldOutAccuracy: number;
  readonly seenAccuracy: number;
}

/** As many seen pairs as held-out ones: the held-out shapes with the next colour in the list. */
export function seenPairs(): [Colour, Shape][] {
  return HELD_OUT.map(([c, s]) => {
    let k = COLOURS.indexOf(c);
    let colour: Colour = c;
    do {
      k = (k + 1) % COLOURS.length;
      colour = COLOURS[k] ?? c;
    } while (isHeldOut(colour, s));
    return [colour, s];
  });
}

async function scorePairs(
  pairs: readonly (readonly [Colour, Shape])[],
  sampler: PipelineSampler,
  classifier: AttributeClassifier,
  o: { perPair: number; seed: number; steps: number; guidance: number },
): Promise<PairScore[]> {
  const prompts = pairs.flatMap(([c, s]) =>
    Array.from({ length: o.perPair }, () => `a photo of a ${c} ${s}`),
  );
  const images = await sampler.sample(prompts, { seed: o.seed, steps: o.steps, guidance: o.guidance });
  const out = await classifier.classify(images, prompts.length);
  return pairs.map(([colour, shape], p) => {
    let colourCorrect = 0;
    let shapeCorrect = 0;
    let bothCorrect = 0;
    for (let i = p * o.perPair; i < (p + 1) * o.perPair; i++) {
      // A patterned object shows two colours: the asked colour must be one of the two the classifier sees most.
      const c = (out.colourTop2[i] ?? [-1, -1]).includes(COLOURS.indexOf(colour));
      const s = out.shape[i] === SHAPES.indexOf(shape);
      colourCorrect += Number(c);
      shapeCorrect += Number(s);
      bothCorrect += Number(c && s);
    }
    return { colour, shape, images: o.perPair, colourCorrect, shapeCorrect, bothCorrect };
  });
}

const accuracy = (scores: readonly PairScore[]) =>
  scores.reduce((a, s) => a + s.bothCorrect, 0) /
  Math.max(
    1,
    scores.reduce((a, s) => a + s.images, 0),
  );

export async function evaluateBaseModel(
  sampler: PipelineSampler,
  classifier: AttributeClassifier,
  o: { perPair: number; seed: number; steps: number; guidance: number },
): Promise<Evaluation> {
  const heldOut = await scorePairs(HELD_OUT, sampler, classifier, o);
  const seen = await scorePairs(seenPairs(), sampler, classifier, o);
  return { heldOut, seen, heldOutAccuracy: accuracy(heldOut), seenAccuracy: accuracy(seen) };
}
