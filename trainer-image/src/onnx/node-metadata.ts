// Reads NodeProto.metadata_props (field 9), which codec.ts does not keep: dynamo exports put a node's module
// path there (`pkg.torch.onnx.name_scopes`) instead of in its name. A second, narrow decode of the same bytes
// (only graph → node → name + metadata; initializers and everything else are skipped unread).
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

/** Node name → its metadata_props (nodes without a name or without metadata are left out). */
export type NodeMetadata = ReadonlyMap<string, Readonly<Record<string, string>>>;

const SCHEMA = {
  nested: {
    onnxmeta: {
      nested: {
        Entry: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Node: {
          fields: {
            name: { type: 'string', id: 3 },
            metadataProps: { rule: 'repeated', type: 'Entry', id: 9 },
          },
        },
        Graph: { fields: { node: { rule: 'repeated', type: 'Node', id: 1 } } },
        Model: { fields: { graph: { type: 'Graph', id: 7 } } },
      },
    },
  },
};

const ModelType = protobuf.Root.fromJSON(SCHEMA).lookupType('onnxmeta.Model');

interface MetaModel {
  graph: { node: { name: string; metadataProps: { key: string; value: string }[] }[] } | null;
}

/** The metadata_props of every named top-level node of ModelProto bytes. */
export function decodeNodeMetadata(bytes: Uint8Array): NodeMetadata {
  const message = ModelType.decode(bytes) as unknown as MetaModel;
  const out = new Map<string, Readonly<Record<string, string>>>();
  for (const n of message.graph?.node ?? []) {
    if (!n.name || n.metadataProps.length === 0) continue;
    out.set(n.name, Object.fromEntries(n.metadataProps.map((e) => [e.key, e.value])));
  }
  return out;
}

/** decodeNodeMetadata of a model file (external data is never read: it is not in the file). */
export function loadNodeMetadata(path: string): NodeMetadata {
  return decodeNodeMetadata(readFileSync(path));
}
