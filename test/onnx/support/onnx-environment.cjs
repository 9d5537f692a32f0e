// Jest environment for tests that run onnxruntime-node: jest's sandbox has its own typed-array constructors,
// so the Float32Array the native binding returns fails onnxruntime-common's instanceof check. Share the host's.
const NodeEnvironment = require('jest-environment-node').TestEnvironment;

const SHARED = [
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Uint8Array',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
  'ArrayBuffer',
];

class OnnxEnvironment extends NodeEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OnnxEnvironment;
