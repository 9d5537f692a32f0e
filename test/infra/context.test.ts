// CDK context parsing: `-c key=value` strings and cdk.json values become typed stack options, and typos fail.
import { readStackContext } from '../../infra/context.ts';

const from = (values: Record<string, unknown>) => (key: string) => values[key];

describe('readStackContext', () => {
  it('parses command-line strings', () => {
    expect(
      readStackContext(
        from({
          instanceTypes: 'g5.xlarge, g6.xlarge',
          spot: 'false',
          maxvCpus: '32',
          gpuHourPriceUsd: '0.8',
        }),
      ),
    ).toEqual({ instanceTypes: ['g5.xlarge', 'g6.xlarge'], spot: false, maxvCpus: 32, gpuHourPriceUsd: 0.8 });
  });

  it('accepts cdk.json values and leaves unset keys out', () => {
    expect(readStackContext(from({ instanceTypes: ['p4d.24xlarge'], spot: true }))).toEqual({
      instanceTypes: ['p4d.24xlarge'],
      spot: true,
    });
    expect(readStackContext(from({}))).toEqual({});
  });

  it('rejects typos with the key in the message', () => {
    expect(() => readStackContext(from({ spot: 'yes' }))).toThrow(/spot/);
    expect(() => readStackContext(from({ instanceTypes: 'g5 xlarge' }))).toThrow(/instanceTypes/);
    expect(() => readStackContext(from({ maxvCpus: '-4' }))).toThrow(/maxvCpus/);
  });
});
