// The forward readers of each tensor, as the rules' soleConsumer/consumers see them: views of the nodes reading
// an output, with their output gradients and their own readers, so a rule can use an identity of a pair.
import type { OnnxNode } from '../onnx/model.ts';
import type { ConsumerView } from './grad-rule.ts';

export interface ForwardReaders {
  /** Views of every forward reader of `tensor`; undefined when it is read from outside or a reader uses it twice. */
  all(tensor: string | undefined): ConsumerView[] | undefined;
  /** The one forward reader of `tensor` (see all), else undefined. */
  sole(tensor: string | undefined): ConsumerView | undefined;
}

/**
 * `externallyRead`: tensors with a reader outside the graph (the loss, graph outputs, extra outputs, intermediate
 * gradients). `outputGradient`: the total gradient of a forward tensor, or undefined when none reaches it.
 */
export function forwardReaders(
  nodes: readonly OnnxNode[],
  externallyRead: ReadonlySet<string>,
  outputGradient: (tensor: string) => string | undefined,
): ForwardReaders {
  const readers = new Map<string, OnnxNode[]>();
  for (const n of nodes) {
    for (const x of new Set(n.inputs)) {
      if (!x) continue;
      const list = readers.get(x);
      if (list) list.push(n);
      else readers.set(x, [n]);
    }
  }
  const view: ForwardReaders = {
    all: (tensor) => {
      if (!tensor || externallyRead.has(tensor)) return undefined;
      const list = readers.get(tensor) ?? [];
      if (list.some((r) => r.inputs.filter((x) => x === tensor).length !== 1)) return undefined;
      return list.map((r) => consumerView(r, tensor, view, outputGradient));
    },
    sole: (tensor) => {
      const views = view.all(tensor);
      return views?.length === 1 ? views[0] : undefined;
    },
  };
  return view;
}

/** A rule's view of a forward node reading `tensor` (once), with its output gradients and its own readers. */
function consumerView(
  consumer: OnnxNode,
  tensor: string,
  readers: ForwardReaders,
  outputGradient: (tensor: string) => string | undefined,
): ConsumerView {
  return {
    opType: consumer.opType,
    inputIndex: consumer.inputs.indexOf(tensor),
    inputs: consumer.inputs,
    outputs: consumer.outputs,
    attrInt: (name, fallback) => {
      const a = consumer.attributes[name];
      return a?.type === 'int' ? a.value : fallback;
    },
    go: (j) => {
      const o = consumer.outputs[j];
      return o ? outputGradient(o) : undefined;
    },
    soleConsumer: (j) => readers.sole(consumer.outputs[j]),
    consumers: (j) => readers.all(consumer.outputs[j]),
  };
}
