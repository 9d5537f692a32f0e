// The loss-history reader: JSONL samples (detLoss optional), step,loss CSV, sniffing, and line-numbered errors.
import { LossHistoryError, parseLossHistory } from '../../../shared/dvar-history.ts';

describe('parseLossHistory', () => {
  it('reads JSONL samples, skipping lines without detLoss, in step order with the last rewrite winning', () => {
    const text = [
      '{"step":0,"detLoss":0.5,"trainLoss":0.6,"lr":0.01,"wallTimeMs":1}',
      '{"step":1,"trainLoss":0.6,"lr":0.01,"wallTimeMs":2}',
      '',
      '{"step":3,"detLoss":0.3,"trainLoss":0.4,"lr":0.01,"wallTimeMs":3}',
      '{"step":2,"detLoss":0.4,"trainLoss":0.4,"lr":0.01,"wallTimeMs":3}',
      '{"step":3,"detLoss":0.25,"trainLoss":0.4,"lr":0.01,"wallTimeMs":4}',
    ].join('\n');
    expect(parseLossHistory(text, 'h.jsonl')).toEqual({
      format: 'jsonl',
      steps: [0, 2, 3],
      losses: [0.5, 0.4, 0.25],
    });
  });

  it('reads a step,loss CSV (CRLF, extra columns, any column order, blank losses skipped)', () => {
    const text = 'epoch, Loss ,step\r\n0,0.9,10\r\n0,,20\r\n1,0.7,30\r\n';
    expect(parseLossHistory(text, 'h.csv')).toEqual({ format: 'csv', steps: [10, 30], losses: [0.9, 0.7] });
  });

  it('treats an empty file as an empty history', () => {
    expect(parseLossHistory('\n\n', 'e')).toEqual({ format: 'jsonl', steps: [], losses: [] });
  });

  it('names the line of a bad record', () => {
    const bad: [string, RegExp][] = [
      ['{"step":0,"detLoss":1}\n{"step":1,"detLoss":', /h:2: not valid JSON/],
      ['{"step":0,"detLoss":1}\n[1,2]', /h:2: expected a JSON object/],
      ['{"step":-1,"detLoss":1}', /h:1: step must be a non-negative integer/],
      ['{"step":0,"detLoss":null}', /h:1: detLoss must be a finite number \(got null/],
      ['{"step":0,"detLoss":1e999}', /h:1: detLoss must be a finite number/],
      ['{"step":0,"detLoss":"0.1"}', /h:1: detLoss must be a finite number/],
      ['step,loss\n1,0.5\n2,nan', /h:3: loss must be a finite number \(got "nan"\)/],
      ['step,loss\n1.5,0.5', /h:2: step must be a non-negative integer \(got "1.5"\)/],
      ['step,loss\nx,0.5', /h:2: step must be a non-negative integer \(got "x"\)/],
      ['a,b,step,loss\n1,2', /h:2: expected at least 4 columns/],
    ];
    for (const [text, message] of bad) {
      expect(() => parseLossHistory(text, 'h')).toThrow(LossHistoryError);
      expect(() => parseLossHistory(text, 'h')).toThrow(message);
    }
  });

  it('rejects an unknown format, quoting the first line', () => {
    expect(() => parseLossHistory('time,value\n1,2', 'x.txt')).toThrow(
      /x.txt: unknown history format.*"time,value"/,
    );
  });
});
