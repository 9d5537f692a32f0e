// Captions for world scenes and the model's word-level vocabulary. Captions name shape, colour and (sometimes)
// size and background, wrapped in the trainer's own object templates so the text encoder learns the prompts that
// textual inversion later uses; pattern, outline and texture are never named.
import type { Rng } from '../../../trainer-image/src/train/rng.ts';
import { fillTemplate, OBJECT_TEMPLATES } from '../../../trainer-image/src/train/templates.ts';
import { BACKGROUNDS, COLOURS, type Colour, type Scene, SHAPES, type Shape, SIZES } from './world.ts';

export const SPECIAL_TOKENS = ['<|startoftext|>', '<|pad|>', '<|endoftext|>'] as const;

/** (colour, shape) pairs never shown in pretraining: the classifier's held-out caption combinations. */
export const HELD_OUT: readonly (readonly [Colour, Shape])[] = [
  ['red', 'triangle'],
  ['blue', 'ring'],
  ['yellow', 'cross'],
  ['green', 'diamond'],
  ['purple', 'square'],
  ['orange', 'circle'],
];

export function isHeldOut(colour: Colour, shape: Shape): boolean {
  return HELD_OUT.some(([c, s]) => c === colour && s === shape);
}

function templateWords(): string[] {
  return OBJECT_TEMPLATES.flatMap((t) => t.replace('{}', ' ').split(/\s+/)).filter((w) => w.length > 0);
}

/** Every word the tokenizer knows, specials first (ids 0, 1, 2), then a fixed order. */
export function vocabulary(): string[] {
  const words = [
    ...SPECIAL_TOKENS,
    ...templateWords(),
    ...COLOURS,
    ...SHAPES,
    ...SIZES,
    ...BACKGROUNDS,
    'on',
    'object',
    'thing',
  ];
  return [...new Set(words.map((w) => w.toLowerCase()))];
}

const SIZE_WORDS = new Set<string>(SIZES);
/** Templates that place the object somewhere ("in the forest") would contradict the named background. */
const PLACE_WORDS = new Set([
  'street',
  'forest',
  'table',
  'night',
  'room',
  'beach',
  'snow',
  'grass',
  'water',
  'landscape',
  'scene',
  'studio',
  'background',
  'sky',
]);
export const CAPTION_TEMPLATES: readonly string[] = OBJECT_TEMPLATES.filter(
  (t) => !t.split(/\s+/).some((w) => PLACE_WORDS.has(w)),
);

/**
 * A caption for a scene: a random object template around "[size] colour shape", plus " on <background>" with
 * probability 0.7; the empty caption with probability `dropEmpty` (for classifier-free guidance).
 */
export function captionFor(scene: Scene, rng: Rng, dropEmpty = 0): string {
  if (dropEmpty > 0 && rng.nextFloat() < dropEmpty) return '';
  const template = CAPTION_TEMPLATES[rng.nextInt(CAPTION_TEMPLATES.length)] ?? 'a photo of a {}';
  const templateHasSize = template.split(/\s+/).some((w) => SIZE_WORDS.has(w));
  const nameSize = !templateHasSize && rng.nextFloat() < 0.5;
  const object = `${nameSize ? `${scene.size} ` : ''}${scene.colour} ${scene.shape}`;
  const onBackground = rng.nextFloat() < 0.7 ? ` on ${scene.background}` : '';
  return `${fillTemplate(template, object)}${onBackground}`;
}
