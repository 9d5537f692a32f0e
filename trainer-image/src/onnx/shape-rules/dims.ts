// Dim algebra for shape inference: numpy broadcasting, and symbolic dims as canonical products such as
// '8*batch', so batch·heads reshaped and divided back by heads is 'batch' again.
import type { Dim } from '../typed-values.ts';

/** Broadcasts several dims lists (numpy rules); a symbol against 1 stays the symbol. */
export function broadcastDims(list: readonly (readonly Dim[] | undefined)[]): Dim[] | undefined {
  if (list.some((d) => d === undefined)) return undefined;
  const all = list as readonly (readonly Dim[])[];
  const rank = Math.max(0, ...all.map((d) => d.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const dims of all) {
      const k = i - (rank - dims.length);
      if (k < 0) continue;
      const d = dims[k];
      if (d === 1) continue;
      if (dim === 1) dim = d;
      else if (d !== dim)
        dim = typeof dim === 'number' && typeof d === 'number' ? Math.max(dim, d) : undefined;
    }
    out.push(dim);
  }
  return out;
}

/** A dim as coefficient × symbols: symbolic dims are canonical products such as '8*batch', so batch·heads
 * reshaped and divided back by heads is 'batch' again. */
export interface Product {
  readonly coef: number;
  readonly syms: readonly string[];
}

export function parseDim(d: Dim): Product | undefined {
  if (d === undefined) return undefined;
  if (typeof d === 'number') return { coef: d, syms: [] };
  let coef = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) coef *= Number(part);
    else syms.push(part);
  }
  return { coef, syms: syms.sort() };
}

export function formatDim(p: Product | undefined): Dim {
  if (!p) return undefined;
  if (p.syms.length === 0) return p.coef;
  return p.coef === 1 ? p.syms.join('*') : `${p.coef}*${p.syms.join('*')}`;
}

export function multiply(a: Product, b: Product): Product {
  return { coef: a.coef * b.coef, syms: [...a.syms, ...b.syms].sort() };
}

export function divide(a: Product, b: Product): Product | undefined {
  if (b.coef === 0) return undefined;
  const rest = [...a.syms];
  for (const s of b.syms) {
    const k = rest.indexOf(s);
    if (k < 0) return undefined;
    rest.splice(k, 1);
  }
  const coef = a.coef / b.coef;
  return Number.isInteger(coef) ? { coef, syms: rest } : undefined;
}

/** A product of dims, or undefined when a dim is unknown. */
export function product(dims: readonly Dim[]): Product | undefined {
  let acc: Product = { coef: 1, syms: [] };
  for (const d of dims) {
    const p = parseDim(d);
    if (!p) return undefined;
    acc = multiply(acc, p);
  }
  return acc;
}

export function divideProducts(total: readonly Dim[], known: readonly Dim[]): Dim {
  const a = product(total);
  const b = product(known);
  return a && b ? formatDim(divide(a, b)) : undefined;
}
