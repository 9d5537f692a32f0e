// Everything the backward sweep shares across nodes, gathered by buildGradientGraph (one object, read-only here).
import type { ConstTensor } from '../onnx/typed-values.ts';
import type { ForwardReaders } from './consumer-views.ts';
import type { GradientEmitter } from './emitter.ts';
import type { ForwardGraph } from './forward-graph.ts';
import type { GradientPath } from './gradient-path.ts';
import type { GradientSum } from './gradient-sum.ts';

export interface BackwardState {
  readonly forward: ForwardGraph;
  readonly path: GradientPath;
  readonly emitter: GradientEmitter;
  readonly sums: GradientSum;
  readonly readers: ForwardReaders;
  readonly constValueOf: (name: string) => ConstTensor | undefined;
  /** GradientGraphOptions.frozenWeights, passed to every rule. */
  readonly frozenWeights: 'fold' | 'reference';
}
