// The explicit list of gradient rules, one file per ONNX op type; the builder registers exactly these.
import type { GradRule } from '../grad-rule.ts';
import { addGrad } from './Add.ts';
import { divGrad } from './Div.ts';
import { identityGrad } from './Identity.ts';
import { matMulGrad } from './MatMul.ts';
import { mulGrad } from './Mul.ts';
import { negGrad } from './Neg.ts';
import { reshapeGrad } from './Reshape.ts';
import { subGrad } from './Sub.ts';
import { transposeGrad } from './Transpose.ts';

export const ALL_RULES: readonly GradRule[] = [
  addGrad,
  divGrad,
  identityGrad,
  matMulGrad,
  mulGrad,
  negGrad,
  reshapeGrad,
  subGrad,
  transposeGrad,
];
