// The world's attribute classifier: a small position-invariant CNN (3×3 convs, ReLU, strided downsampling,
// global average pooling) with a colour head and a shape head, trained by the project's autodiff on world
// renders. It judges generated samples (is "a red ring" red and a ring?), and its pooled features are the image
// similarity the benchmark uses in place of CLIP. Exported as one ONNX file: image [B, 3, 32, 32] in [−1, 1] →
// colour_logits, shape_logits, features.
import { buildGradientGraph } from '../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { DataType, type OnnxModel } from '../../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import { ADAMW_DEFAULTS, adamwStep, initAdamW } from '../../../trainer-image/src/train/adamw.ts';
import { Rng } from '../../../trainer-image/src/train/rng.ts';
import { initialWeights, ModelGraph, type ParamSpec, type Weights } from '../builder/model-graph.ts';
import { COLOURS, IMAGE_SIZE, renderScene, SHAPES, sampleScene, toModelInput } from '../world/world.ts';

const OPSET = 17;
export const FEATURE_SIZE = 64;

function emitClassifier(m: ModelGraph, image: string): { colour: string; shape: string; features: string } {
  // conv → GroupNorm → ReLU blocks; GroupNorm makes the features independent of background brightness.
  const block = (x: string, cin: number, cout: number, size: number, name: string, stride = 1) =>
    m.op(
      'Relu',
      [m.groupNorm(m.conv(x, cin, cout, `${name}`, { stride }), cout, size, size, 8, `${name}.norm`)],
      name,
    );
  let x = block(image, 3, 16, 32, 'cls.conv1');
  x = block(x, 16, 32, 16, 'cls.conv2', 2);
  x = block(x, 32, 64, 8, 'cls.conv3', 2);
  x = block(x, 64, FEATURE_SIZE, 8, 'cls.conv4');
  // Attention pooling: a softmax over the 8×8 positions of a learned score map weights the features, so the
  // object's cells dominate wherever it is (position-invariant, like max pooling, with standard differentiable ops).
  const cells = 8 * 8;
  const score = m.op(
    'Reshape',
    [m.conv(x, FEATURE_SIZE, 1, 'cls.pool_score', { kernel: 1 }), m.int64s([0, 1, cells])],
    'cls',
  );
  const weights = m.op('Softmax', [score], 'cls', { axis: { type: 'int', value: -1 } });
  const flat = m.op('Reshape', [x, m.int64s([0, FEATURE_SIZE, cells])], 'cls');
  const features = m.op('ReduceSum', [m.op('Mul', [flat, weights], 'cls'), m.int64s([2])], 'cls', {
    keepdims: { type: 'int', value: 0 },
  });
  return {
    features,
    colour: m.linear(features, FEATURE_SIZE, COLOURS.length, 'cls.colour'),
    shape: m.linear(features, FEATURE_SIZE, SHAPES.length, 'cls.shape'),
  };
}

export function classifierModel(weights: Weights): OnnxModel {
  const m = new ModelGraph('attribute_classifier');
  m.input('image', DataType.FLOAT, ['batch', 3, IMAGE_SIZE, IMAGE_SIZE]);
  const out = emitClassifier(m, 'image');
  m.rename(out.colour, 'colour_logits');
  m.rename(out.shape, 'shape_logits');
  m.rename(out.features, 'features');
  m.output('colour_logits', DataType.FLOAT, ['batch', COLOURS.length]);
  m.output('shape_logits', DataType.FLOAT, ['batch', SHAPES.length]);
  m.output('features', DataType.FLOAT, ['batch', FEATURE_SIZE]);
  m.addWeightsAsInitializers(weights);
  return m.builder.build(OPSET);
}

/** Cross-entropy of both heads against one-hot labels, weights as inputs. */
function trainingForward(): { model: OnnxModel; params: readonly ParamSpec[] } {
  const m = new ModelGraph('attribute_classifier_train');
  m.input('image', DataType.FLOAT, ['batch', 3, IMAGE_SIZE, IMAGE_SIZE]);
  m.input('colour_target', DataType.FLOAT, ['batch', COLOURS.length]);
  m.input('shape_onehot', DataType.FLOAT, ['batch', SHAPES.length]);
  const out = emitClassifier(m, 'image');
  const ce = (logits: string, onehot: string) =>
    m.op(
      'Neg',
      [
        m.op(
          'ReduceMean',
          [
            m.op(
              'ReduceSum',
              [
                m.op(
                  'Mul',
                  [m.op('LogSoftmax', [logits], 'ce', { axis: { type: 'int', value: -1 } }), onehot],
                  'ce',
                ),
                m.int64s([1]),
              ],
              'ce',
              { keepdims: { type: 'int', value: 0 } },
            ),
          ],
          'ce',
          { keepdims: { type: 'int', value: 0 } },
        ),
      ],
      'ce',
    );
  m.builder.node('Add', [ce(out.colour, 'colour_target'), ce(out.shape, 'shape_onehot')], ['loss']);
  m.output('loss', DataType.FLOAT, []);
  m.addWeightsAsInputs();
  return { model: m.builder.build(OPSET), params: m.params };
}

export interface ClassifierTrainOptions {
  readonly seed: number;
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  /** σ of Gaussian pixel noise added to training images (robustness to sampler noise). */
  readonly noise: number;
  readonly threads: number;
  readonly onStep?: (step: number, loss: number) => void;
}

export const CLASSIFIER_DEFAULTS = {
  seed: 5,
  steps: 3000,
  batchSize: 32,
  lr: 3e-3,
  noise: 0.05,
  threads: 1,
} as const;

interface LabelledBatch {
  readonly images: Float32Array;
  /** Body colour index per image. */
  readonly colours: number[];
  readonly shapes: number[];
  /**
   * Soft colour targets [n × colours]: stripes and checker show body and pattern colour in equal parts (which is
   * the "body" is not visible), dots mostly the body; solid objects only the body.
   */
  readonly colourTargets: Float32Array;
}

const BODY_SHARE: Readonly<Record<string, number>> = { solid: 1, dots: 0.8, stripes: 0.5, checker: 0.5 };

/** World renders of random objects (all colour/shape pairs) with their labels. */
export function labelledBatch(rng: Rng, n: number, noise = 0): LabelledBatch {
  const per = 3 * IMAGE_SIZE * IMAGE_SIZE;
  const images = new Float32Array(n * per);
  const colours: number[] = [];
  const shapes: number[] = [];
  const colourTargets = new Float32Array(n * COLOURS.length);
  for (let b = 0; b < n; b++) {
    const scene = sampleScene(rng);
    toModelInput(renderScene(scene), images, b * per);
    colours.push(COLOURS.indexOf(scene.colour));
    shapes.push(SHAPES.indexOf(scene.shape));
    const body = BODY_SHARE[scene.pattern] ?? 1;
    colourTargets[b * COLOURS.length + COLOURS.indexOf(scene.colour)] = body;
    if (body < 1) colourTargets[b * COLOURS.length + COLOURS.indexOf(scene.patternColour)] = 1 - body;
  }
  if (noise > 0) {
    const eps = rng.normal(images.length);
    for (let i = 0; i < images.length; i++) images[i] = (images[i] ?? 0) + noise * (eps[i] ?? 0);
  }
  return { images, colours, shapes, colourTargets };
}

function oneHot(labels: readonly number[], classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((l, b) => {
    out[b * classes + l] = 1;
  });
  return out;
}

export async function trainClassifier(
  o: ClassifierTrainOptions,
): Promise<{ weights: Weights; losses: number[] }> {
  const { model, params } = trainingForward();
  const names = params.map((p) => p.name);
  const { model: grad, gradients } = buildGradientGraph(model, { loss: 'loss', wrt: names });
  const session = await Session.create(encodeModel(grad), { intraOpThreads: o.threads });
  const weights = initialWeights(params, o.seed);
  const states = new Map(names.map((n) => [n, initAdamW(weights.get(n)?.length ?? 0)]));
  const rng = Rng.forStream(o.seed, 'classifier-data');
  const losses: number[] = [];
  for (let step = 0; step < o.steps; step++) {
    const batch = labelledBatch(rng, o.batchSize, o.noise);
    const feeds: Record<string, TypedTensor> = {
      image: { dataType: 1, dims: [o.batchSize, 3, IMAGE_SIZE, IMAGE_SIZE], data: batch.images },
      colour_target: {
        dataType: 1,
        dims: [o.batchSize, COLOURS.length],
        data: batch.colourTargets,
      },
      shape_onehot: {
        dataType: 1,
        dims: [o.batchSize, SHAPES.length],
        data: oneHot(batch.shapes, SHAPES.length),
      },
    };
    for (const p of params)
      feeds[p.name] = { dataType: 1, dims: p.dims, data: weights.get(p.name) ?? new Float32Array(0) };
    const out = await session.run(feeds, ['loss', ...names.map((n) => gradients[n] ?? '')]);
    const loss = out.loss?.data[0];
    if (typeof loss !== 'number' || !Number.isFinite(loss))
      throw new Error(`classifier step ${step}: loss ${loss}`);
    losses.push(loss);
    // Cosine decay to 10% keeps the last steps from bouncing.
    const lr = o.lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * step) / o.steps)));
    for (const name of names) {
      const g = out[gradients[name] ?? '']?.data;
      const w = weights.get(name);
      const s = states.get(name);
      if (!(g instanceof Float32Array) || !w || !s) throw new Error(`classifier: no gradient for ${name}`);
      adamwStep(w, g, s, { ...ADAMW_DEFAULTS, lr });
    }
    o.onStep?.(step + 1, loss);
  }
  await session.release();
  return { weights, losses };
}

export interface Classification {
  readonly colour: number[];
  /** The two most likely colours (a patterned object shows two). */
  readonly colourTop2: [number, number][];
  readonly shape: number[];
  /** [n × FEATURE_SIZE] pooled features. */
  readonly features: Float32Array;
}

export interface AttributeClassifier {
  classify(images: Float32Array, n: number): Promise<Classification>;
  release(): Promise<void>;
}

function argmaxRows(data: Float32Array, n: number, k: number): number[] {
  return Array.from({ length: n }, (_, b) => {
    let best = 0;
    for (let j = 1; j < k; j++) if ((data[b * k + j] ?? 0) > (data[b * k + best] ?? 0)) best = j;
    return best;
  });
}

/** Opens the exported classifier (a path to model.onnx or its bytes). */
export async function openClassifier(source: string | Uint8Array, threads = 1): Promise<AttributeClassifier> {
  const session = await Session.create(source, { intraOpThreads: threads });
  return {
    async classify(images, n) {
      const out = await session.run({
        image: { dataType: 1, dims: [n, 3, IMAGE_SIZE, IMAGE_SIZE], data: images },
      });
      const c = out.colour_logits?.data;
      const s = out.shape_logits?.data;
      const f = out.features?.data;
      if (!(c instanceof Float32Array && s instanceof Float32Array && f instanceof Float32Array))
        throw new Error('classifier: missing outputs');
      const colourTop2 = Array.from({ length: n }, (_, b): [number, number] => {
        const k = COLOURS.length;
        const order = Array.from({ length: k }, (_, j) => j).sort(
          (x, y) => (c[b * k + y] ?? 0) - (c[b * k + x] ?? 0),
        );
        return [order[0] ?? 0, order[1] ?? 0];
      });
      return {
        colourTop2,
        colour: argmaxRows(c, n, COLOURS.length),
        shape: argmaxRows(s, n, SHAPES.length),
        features: f,
      };
    },
    release: () => session.release(),
  };
}

/** Cosine similarity of two feature vectors (the benchmark's image similarity). */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] ?? 0) * (b[i] ?? 0);
    na += (a[i] ?? 0) ** 2;
    nb += (b[i] ?? 0) ** 2;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
