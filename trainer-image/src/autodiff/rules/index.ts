// The explicit list of gradient rules, one file per ONNX op type; the builder registers exactly these.
import type { GradRule } from '../grad-rule.ts';
import { absGrad } from './Abs.ts';
import { addGrad } from './Add.ts';
import { castGrad } from './Cast.ts';
import { castLikeGrad } from './CastLike.ts';
import { clipGrad } from './Clip.ts';
import { concatGrad } from './Concat.ts';
import { convGrad } from './Conv.ts';
import { cosGrad } from './Cos.ts';
import { divGrad } from './Div.ts';
import { dropoutGrad } from './Dropout.ts';
import { einsumGrad } from './Einsum.ts';
import { erfGrad } from './Erf.ts';
import { expGrad } from './Exp.ts';
import { expandGrad } from './Expand.ts';
import { flattenGrad } from './Flatten.ts';
import { gatherGrad } from './Gather.ts';
import { gemmGrad } from './Gemm.ts';
import { groupNormalizationGrad } from './GroupNormalization.ts';
import { identityGrad } from './Identity.ts';
import { instanceNormalizationGrad } from './InstanceNormalization.ts';
import { layerNormalizationGrad } from './LayerNormalization.ts';
import { leakyReluGrad } from './LeakyRelu.ts';
import { logGrad } from './Log.ts';
import { logSoftmaxGrad } from './LogSoftmax.ts';
import { matMulGrad } from './MatMul.ts';
import { maxGrad } from './Max.ts';
import { meanGrad } from './Mean.ts';
import { minGrad } from './Min.ts';
import { mulGrad } from './Mul.ts';
import { negGrad } from './Neg.ts';
import { padGrad } from './Pad.ts';
import { powGrad } from './Pow.ts';
import { reciprocalGrad } from './Reciprocal.ts';
import { reduceMeanGrad } from './ReduceMean.ts';
import { reduceSumGrad } from './ReduceSum.ts';
import { reluGrad } from './Relu.ts';
import { reshapeGrad } from './Reshape.ts';
import { resizeGrad } from './Resize.ts';
import { sigmoidGrad } from './Sigmoid.ts';
import { sinGrad } from './Sin.ts';
import { sliceGrad } from './Slice.ts';
import { softmaxGrad } from './Softmax.ts';
import { splitGrad } from './Split.ts';
import { sqrtGrad } from './Sqrt.ts';
import { squeezeGrad } from './Squeeze.ts';
import { subGrad } from './Sub.ts';
import { sumGrad } from './Sum.ts';
import { tanhGrad } from './Tanh.ts';
import { tileGrad } from './Tile.ts';
import { transposeGrad } from './Transpose.ts';
import { unsqueezeGrad } from './Unsqueeze.ts';
import { whereGrad } from './Where.ts';

export const ALL_RULES: readonly GradRule[] = [
  absGrad,
  addGrad,
  castGrad,
  castLikeGrad,
  clipGrad,
  concatGrad,
  convGrad,
  cosGrad,
  divGrad,
  dropoutGrad,
  einsumGrad,
  erfGrad,
  expGrad,
  expandGrad,
  flattenGrad,
  gatherGrad,
  gemmGrad,
  groupNormalizationGrad,
  identityGrad,
  instanceNormalizationGrad,
  layerNormalizationGrad,
  leakyReluGrad,
  logGrad,
  logSoftmaxGrad,
  matMulGrad,
  maxGrad,
  meanGrad,
  minGrad,
  mulGrad,
  negGrad,
  padGrad,
  powGrad,
  reciprocalGrad,
  reduceMeanGrad,
  reduceSumGrad,
  reluGrad,
  reshapeGrad,
  resizeGrad,
  sigmoidGrad,
  sinGrad,
  sliceGrad,
  softmaxGrad,
  splitGrad,
  sqrtGrad,
  squeezeGrad,
  subGrad,
  sumGrad,
  tanhGrad,
  tileGrad,
  transposeGrad,
  unsqueezeGrad,
  whereGrad,
];
