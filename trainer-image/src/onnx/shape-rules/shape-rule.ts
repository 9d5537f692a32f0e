// The contract between shape inference and its per-op rules (one module per op family in this folder): a rule
// gets a node with what is known of its inputs and returns what is known of its outputs, never a guess.
import { DataType, type OnnxAttribute, type OnnxNode } from '../model.ts';
import type { Dim } from '../typed-values.ts';

export interface TensorInfo {
  readonly dataType: number;
  /** Undefined when even the rank is unknown. */
  readonly dims: readonly Dim[] | undefined;
  /** For small integer tensors of rank ≤ 1: the (possibly symbolic) element values. */
  readonly sym?: readonly Dim[];
  /** For small float constants of rank ≤ 1 (Resize scales): their values. */
  readonly floats?: readonly number[];
}

export type InfoMap = Map<string, TensorInfo>;

/** Integer tensors up to this many elements have their values folded (`sym`). */
export const SMALL = 64;

/** What a rule sees of one node: the node, the opset, and the infos of its inputs. */
export interface ShapeContext {
  readonly node: OnnxNode;
  readonly opset: number;
  readonly info: InfoMap;
  /** Input 0's info (most rules' data input). */
  readonly x: TensorInfo | undefined;
  get(k: number): TensorInfo | undefined;
  dimsOf(k: number): readonly Dim[] | undefined;
  symOf(k: number): readonly Dim[] | undefined;
  /** Input k's values when every one is a known number. */
  numbersOf(k: number): number[] | undefined;
}

/** Output infos of one node (entries undefined, or the list short, where nothing is known). */
export type ShapeRule = (c: ShapeContext) => (TensorInfo | undefined)[];

/** One line of the op type → rule table. */
export type ShapeRuleEntry = readonly [opType: string, rule: ShapeRule];

/** The same rule for several op types. */
export function forOps(ops: readonly string[], rule: ShapeRule): ShapeRuleEntry[] {
  return ops.map((op) => [op, rule] as const);
}

/** The context for `node` over `info`. */
export function shapeContext(node: OnnxNode, info: InfoMap, opset: number): ShapeContext {
  const get = (k: number): TensorInfo | undefined => {
    const name = node.inputs[k];
    return name ? info.get(name) : undefined;
  };
  const symOf = (k: number) => get(k)?.sym;
  return {
    node,
    opset,
    info,
    x: get(0),
    get,
    dimsOf: (k) => get(k)?.dims,
    symOf,
    numbersOf: (k) => {
      const s = symOf(k);
      return s?.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
    },
  };
}

/** Input 0's dtype and dims (no values) as the one output, for ops that keep their input's shape. */
export function same(c: ShapeContext): TensorInfo[] {
  return c.x ? [{ dataType: c.x.dataType, dims: c.x.dims }] : [];
}

export function attrOf(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attributes[name];
}
export function intAttr(node: OnnxNode, name: string, fallback: number): number {
  const a = attrOf(node, name);
  return a?.type === 'int' ? a.value : fallback;
}
export function intsAttr(node: OnnxNode, name: string): readonly number[] | undefined {
  const a = attrOf(node, name);
  return a?.type === 'ints' ? a.value : undefined;
}
export function floatsAttr(node: OnnxNode, name: string): readonly number[] | undefined {
  const a = attrOf(node, name);
  return a?.type === 'floats' ? a.value : undefined;
}

export function isIntType(t: number): boolean {
  return t === DataType.INT64 || t === DataType.INT32;
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
