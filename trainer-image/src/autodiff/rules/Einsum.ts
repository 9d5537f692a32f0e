// Einsum: y = Σ over contracted letters of Π operands. The gradient of operand k is itself an einsum of dy with
// the other operands, "t₀,…(without tₖ),out → tₖ'", where tₖ' drops the letters (or ellipsis) of tₖ that occur
// nowhere else: y does not depend on their position, so those axes are restored as unit axes and expanded back to
// xₖ's shape. Ellipsis dims broadcast between operands are summed back (unbroadcast). Implicit outputs follow
// numpy (ellipsis, then the letters used once, sorted). A letter repeated within one term (a diagonal) is an error.
import type { GradContext, GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { requireGo, unsqueeze } from './helpers.ts';

const ELLIPSIS = '...';

function tokenize(term: string): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < term.length; i++) {
    if (term.startsWith(ELLIPSIS, i)) {
      tokens.push(ELLIPSIS);
      i += 2;
    } else tokens.push(term[i] as string);
  }
  return tokens;
}

function parse(g: GradContext): { inputs: string[][]; output: string[] } {
  const equation = g.attrString('equation').replace(/\s+/g, '');
  const [lhs = '', rhs] = equation.split('->');
  const inputs = lhs.split(',').map(tokenize);
  for (const t of inputs) {
    const letters = t.filter((c) => c !== ELLIPSIS);
    if (new Set(letters).size !== letters.length) {
      throw new Error(`Einsum node '${g.nodeName}': no gradient for a repeated subscript in '${equation}'`);
    }
  }
  if (rhs !== undefined) return { inputs, output: tokenize(rhs) };
  const counts = new Map<string, number>();
  for (const t of inputs) for (const c of t) if (c !== ELLIPSIS) counts.set(c, (counts.get(c) ?? 0) + 1);
  const once = [...counts].filter(([, n]) => n === 1).map(([c]) => c);
  once.sort();
  const hasEllipsis = inputs.some((t) => t.includes(ELLIPSIS));
  return { inputs, output: hasEllipsis ? [ELLIPSIS, ...once] : once };
}

export const einsumGrad: GradRule = {
  opType: 'Einsum',
  build: (g) => {
    const go = requireGo(g);
    const { inputs, output } = parse(g);
    inputs.forEach((term, k) => {
      if (!g.needs(k)) return;
      const others = inputs.filter((_, j) => j !== k);
      const elsewhere = new Set([...others.flat(), ...output]);
      const kept = term.filter((c) => elsewhere.has(c));
      const equation = `${[...others, output].map((t) => t.join('')).join(',')}->${kept.join('')}`;
      const operands = [
        ...Array.from({ length: g.inputCount }, (_, j) => g.i(j)).filter((_, j) => j !== k),
        go,
      ];
      let grad = g.emit('Einsum', operands, { equation: attr.string(equation) });
      const x = g.i(k);
      const rank = g.rank(x);
      const ellipsisRank = rank - term.filter((c) => c !== ELLIPSIS).length;
      const missing: number[] = [];
      let pos = 0;
      for (const c of term) {
        const width = c === ELLIPSIS ? ellipsisRank : 1;
        if (!elsewhere.has(c)) for (let i = 0; i < width; i++) missing.push(pos + i);
        pos += width;
      }
      if (missing.length > 0) {
        grad = g.emit('Expand', [unsqueeze(g, grad, missing), g.emit('Shape', [x])]);
      }
      if (term.includes(ELLIPSIS) && elsewhere.has(ELLIPSIS)) g.unbroadcast(grad, x, g.gi(k));
      else g.bind(grad, g.gi(k));
    });
  },
};
