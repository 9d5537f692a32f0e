// The explicit list of gradient rules, one file per ONNX op type; the builder registers exactly these.
import type { GradRule } from '../grad-rule.ts';

export const ALL_RULES: readonly GradRule[] = [];
