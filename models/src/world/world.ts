// The procedural "world": seeded scenes of one object (shape × colour × size × position) on a background, with
// attributes no caption names (fill pattern, outline, background texture details). Pure and deterministic: the
// same Rng state gives the same scene, the same scene gives the same pixels. Images are 32×32 RGB.
import type { Rng } from '../../../trainer-image/src/train/rng.ts';

export const IMAGE_SIZE = 32;

export const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'white', 'black'] as const;
export const SHAPES = ['circle', 'square', 'triangle', 'ring', 'cross', 'diamond'] as const;
export const SIZES = ['small', 'large'] as const;
export const BACKGROUNDS = ['grass', 'sky', 'snow', 'beach', 'water', 'night'] as const;
/** Attributes captions never name: what personalization has to learn. */
export const PATTERNS = ['solid', 'stripes', 'dots', 'checker'] as const;
export const OUTLINES = ['none', 'dark', 'light'] as const;

export type Colour = (typeof COLOURS)[number];
export type Shape = (typeof SHAPES)[number];
export type Size = (typeof SIZES)[number];
export type Background = (typeof BACKGROUNDS)[number];
export type Pattern = (typeof PATTERNS)[number];
export type Outline = (typeof OUTLINES)[number];

export interface Scene {
  readonly shape: Shape;
  readonly colour: Colour;
  readonly size: Size;
  readonly background: Background;
  readonly pattern: Pattern;
  /** The pattern's second colour (used by stripes, dots, checker). */
  readonly patternColour: Colour;
  readonly outline: Outline;
  /** Object centre in pixels and radius (half-extent) in pixels. */
  readonly cx: number;
  readonly cy: number;
  readonly radius: number;
  /** Rotation of the pattern and shape in radians (small: shapes stay recognisable). */
  readonly angle: number;
  /** Seed of the background texture noise. */
  readonly textureSeed: number;
}

/** A specific object: the attributes that stay fixed across its images (position and background vary). */
export interface Concept {
  readonly shape: Shape;
  readonly colour: Colour;
  readonly size: Size;
  readonly pattern: Pattern;
  readonly patternColour: Colour;
  readonly outline: Outline;
}

const RGB: Readonly<Record<Colour, readonly [number, number, number]>> = {
  red: [220, 30, 35],
  orange: [245, 140, 20],
  yellow: [245, 225, 40],
  green: [40, 170, 60],
  blue: [35, 70, 215],
  purple: [140, 45, 180],
  white: [245, 245, 245],
  black: [20, 20, 22],
};

/** Base colour and texture amplitude of each background. */
const BACKGROUND_STYLE: Readonly<Record<Background, { rgb: [number, number, number]; texture: number }>> = {
  grass: { rgb: [70, 140, 50], texture: 28 },
  sky: { rgb: [140, 190, 240], texture: 6 },
  snow: { rgb: [225, 230, 238], texture: 10 },
  beach: { rgb: [225, 200, 140], texture: 16 },
  water: { rgb: [40, 100, 150], texture: 14 },
  night: { rgb: [25, 28, 60], texture: 8 },
};

function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[rng.nextInt(items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** A random concept (pattern colour differs from the body colour). */
export function sampleConcept(rng: Rng): Concept {
  const colour = pick(rng, COLOURS);
  const others = COLOURS.filter((c) => c !== colour);
  return {
    shape: pick(rng, SHAPES),
    colour,
    size: pick(rng, SIZES),
    pattern: pick(rng, PATTERNS),
    patternColour: pick(rng, others),
    outline: pick(rng, OUTLINES),
  };
}

/** A scene of `concept` (or of a random object) at a random position on a random (or given) background. */
export function sampleScene(rng: Rng, concept?: Concept, background?: Background): Scene {
  const c = concept ?? sampleConcept(rng);
  const radius = c.size === 'small' ? 5 + rng.nextFloat() * 1.5 : 8.5 + rng.nextFloat() * 2;
  const margin = radius + 1;
  return {
    ...c,
    background: background ?? pick(rng, BACKGROUNDS),
    cx: margin + rng.nextFloat() * (IMAGE_SIZE - 2 * margin),
    cy: margin + rng.nextFloat() * (IMAGE_SIZE - 2 * margin),
    radius,
    angle: (rng.nextFloat() - 0.5) * 0.4,
    textureSeed: rng.nextUint32(),
  };
}

/** Signed distance-like inside test in the object's frame (u, v in units of the radius): ≤ 0 inside. */
function shapeDistance(shape: Shape, u: number, v: number): number {
  switch (shape) {
    case 'circle':
      return Math.hypot(u, v) - 1;
    case 'square':
      return Math.max(Math.abs(u), Math.abs(v)) - 0.85;
    case 'diamond':
      return Math.abs(u) + Math.abs(v) - 1.1;
    case 'ring': {
      const r = Math.hypot(u, v);
      return Math.abs(r - 0.72) - 0.28;
    }
    case 'cross':
      return Math.min(
        Math.max(Math.abs(u) - 0.33, Math.abs(v) - 1),
        Math.max(Math.abs(u) - 1, Math.abs(v) - 0.33),
      );
    case 'triangle': {
      // Triangle pointing down (image y grows downward): flat top edge at v = −1, apex near v = 0.8.
      const edge = Math.abs(u) * 1.9 + v * 1 - 0.9;
      return Math.max(edge * 0.5, v - 0.8, -1 - v);
    }
  }
}

function patternIsSecond(pattern: Pattern, u: number, v: number): boolean {
  switch (pattern) {
    case 'solid':
      return false;
    case 'stripes':
      return Math.floor((u + 2) * 2.5) % 2 === 1;
    case 'dots': {
      const gu = (u + 2) * 2 - Math.floor((u + 2) * 2) - 0.5;
      const gv = (v + 2) * 2 - Math.floor((v + 2) * 2) - 0.5;
      return Math.hypot(gu, gv) < 0.3;
    }
    case 'checker':
      return (Math.floor((u + 2) * 2) + Math.floor((v + 2) * 2)) % 2 === 1;
  }
}

/** Small deterministic value noise for background textures (hash of integer lattice points). */
function hash2(seed: number, x: number, y: number): number {
  let h = Math.imul(seed ^ Math.imul(x, 0x27d4eb2d), 0x165667b1) ^ Math.imul(y, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae3d);
  return ((h ^ (h >>> 16)) >>> 0) / 0xffffffff;
}

function backgroundPixel(scene: Scene, x: number, y: number): [number, number, number] {
  const style = BACKGROUND_STYLE[scene.background];
  const s = scene.textureSeed;
  let shade = 0;
  switch (scene.background) {
    case 'grass':
      // Vertical blades: noise varying fast in x, slowly in y.
      shade = hash2(s, x, Math.floor(y / 4)) - 0.5;
      break;
    case 'sky':
      shade = (y / IMAGE_SIZE - 0.5) * 3 + (hash2(s, Math.floor(x / 8), Math.floor(y / 8)) - 0.5);
      break;
    case 'water':
      shade = Math.sin(y * 0.9 + Math.sin(x * 0.35 + (s % 7)) * 1.5) * 0.5;
      break;
    case 'night':
      shade = hash2(s, x, y) > 0.97 ? 12 : hash2(s, x, y) - 0.5;
      break;
    default:
      shade = hash2(s, x, y) - 0.5;
  }
  const d = shade * style.texture;
  return [style.rgb[0] + d, style.rgb[1] + d, style.rgb[2] + d * (scene.background === 'grass' ? 0.3 : 1)];
}

const SUPERSAMPLE = 3;

/** Renders a scene as interleaved RGB bytes (HWC, 32×32×3), antialiased by 3×3 supersampling. */
export function renderScene(scene: Scene): Uint8Array {
  const out = new Uint8Array(IMAGE_SIZE * IMAGE_SIZE * 3);
  const cos = Math.cos(scene.angle);
  const sin = Math.sin(scene.angle);
  const body = RGB[scene.colour];
  const second = RGB[scene.patternColour];
  const outlineRgb: [number, number, number] | undefined =
    scene.outline === 'dark' ? [15, 15, 15] : scene.outline === 'light' ? [250, 250, 250] : undefined;
  const outlineWidth = 1.1 / scene.radius;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      const bg = backgroundPixel(scene, x, y);
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const px = x + (sx + 0.5) / SUPERSAMPLE - scene.cx;
          const py = y + (sy + 0.5) / SUPERSAMPLE - scene.cy;
          const u = (px * cos + py * sin) / scene.radius;
          const v = (-px * sin + py * cos) / scene.radius;
          const d = shapeDistance(scene.shape, u, v);
          let c: readonly [number, number, number] = bg;
          if (d <= 0) {
            if (outlineRgb && d > -outlineWidth) c = outlineRgb;
            else c = patternIsSecond(scene.pattern, u, v) ? second : body;
          }
          r += c[0];
          g += c[1];
          b += c[2];
        }
      }
      const n = SUPERSAMPLE * SUPERSAMPLE;
      const i = (y * IMAGE_SIZE + x) * 3;
      out[i] = Math.max(0, Math.min(255, Math.round(r / n)));
      out[i + 1] = Math.max(0, Math.min(255, Math.round(g / n)));
      out[i + 2] = Math.max(0, Math.min(255, Math.round(b / n)));
    }
  }
  return out;
}

/** HWC bytes → CHW float32 in [−1, 1] (what the diffusion model sees), optionally written at `offset` of `out`. */
export function toModelInput(rgb: Uint8Array, out?: Float32Array, offset = 0): Float32Array {
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  const target = out ?? new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) target[offset + c * plane + p] = (rgb[p * 3 + c] ?? 0) / 127.5 - 1;
  }
  return target;
}

/** CHW float32 in [−1, 1] → HWC bytes. */
export function fromModelOutput(chw: Float32Array, offset = 0): Uint8Array {
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  const out = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = ((chw[offset + c * plane + p] ?? 0) + 1) * 127.5;
      out[p * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}
