// Builds ONNX models in code: tests, helper graphs (noising, loss) and SD-style variants are written with it
// instead of being committed as opaque bytes. Node names are deterministic (`<opType>_<n>` unless given).

import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxTensor, ValueInfo } from './model.ts';
import { constToTensor } from './tensor-values.ts';
import type { Attr, ConstTensor, Dim, OnnxDataType } from './typed-values.ts';

/** Converts a rule-level attribute to the IR form (tensor values become raw bytes). */
export function toOnnxAttribute(a: Attr): OnnxAttribute {
  return a.type === 'tensor' ? { type: 'tensor', value: constToTensor('', a.value) } : a;
}

export function toOnnxAttributes(
  attrs: Readonly<Record<string, Attr>> | undefined,
): Record<string, OnnxAttribute> {
  const out: Record<string, OnnxAttribute> = {};
  for (const [k, v] of Object.entries(attrs ?? {})) out[k] = toOnnxAttribute(v);
  return out;
}

export class GraphBuilder {
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly nodes: OnnxNode[] = [];
  private readonly opsetImports: { domain: string; version: number }[] = [];
  private counter = 0;
  private readonly graphName: string;

  constructor(graphName = 'graph') {
    this.graphName = graphName;
  }

  input(name: string, dataType: OnnxDataType, dims: readonly Dim[]): this {
    this.inputs.push({ name, dataType, dims: [...dims] });
    return this;
  }

  initializer(name: string, value: ConstTensor): this {
    this.initializers.push(constToTensor(name, value));
    return this;
  }

  /** Adds an IR tensor as is (raw bytes or an external reference). */
  initializerTensor(tensor: OnnxTensor): this {
    this.initializers.push(tensor);
    return this;
  }

  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs?: Readonly<Record<string, Attr>>,
    options: { name?: string; domain?: string } = {},
  ): this {
    this.nodes.push({
      name: options.name ?? `${opType}_${this.counter++}`,
      opType,
      domain: options.domain ?? '',
      inputs: [...inputs],
      outputs: [...outputs],
      attributes: toOnnxAttributes(attrs),
    });
    return this;
  }

  output(name: string, dataType: OnnxDataType, dims: readonly Dim[] | undefined): this {
    this.outputs.push({ name, dataType, dims: dims ? [...dims] : undefined });
    return this;
  }

  /** Declares an extra opset import (e.g. com.microsoft); the default domain comes from build(). */
  opsetImport(domain: string, version: number): this {
    this.opsetImports.push({ domain, version });
    return this;
  }

  build(opset = 17): OnnxModel {
    return {
      irVersion: opset >= 21 ? 10 : opset >= 19 ? 9 : 8,
      opsetImports: [{ domain: '', version: opset }, ...this.opsetImports],
      producerName: 'plateau',
      producerVersion: '0.1.0',
      graph: {
        name: this.graphName,
        nodes: [...this.nodes],
        initializers: [...this.initializers],
        inputs: [...this.inputs],
        outputs: [...this.outputs],
        valueInfo: [],
      },
      functions: [],
      metadata: {},
    };
  }
}
