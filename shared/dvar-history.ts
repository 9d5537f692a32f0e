// Reads a loss history for DVAR replay: the project's JSONL samples ({step, detLoss, …}; lines without detLoss
// skipped) or a CSV with a `step,loss` header (a deterministic validation loss logged by other trainers).
// Pure text in, steps and losses out; every error names the source and the line.

export type LossHistoryFormat = 'jsonl' | 'csv';

export interface LossHistory {
  readonly format: LossHistoryFormat;
  /** Steps in increasing order, one per sample. */
  readonly steps: readonly number[];
  /** The loss at each of those steps. */
  readonly losses: readonly number[];
}

/** A history that cannot be read: wrong format or a bad line. */
export class LossHistoryError extends Error {
  override readonly name = 'LossHistoryError';
}

/**
 * Parses a history. The format is sniffed from the content: a first non-empty line starting with `{` is JSONL,
 * a header with `step` and `loss` columns is CSV. A step seen twice keeps its last value (a resumed run
 * rewrites the steps after its checkpoint, as the sample table does); samples are returned in step order.
 */
export function parseLossHistory(text: string, source: string): LossHistory {
  const lines = text.split(/\r?\n/);
  const first = lines.findIndex((line) => line.trim() !== '');
  if (first === -1) return { format: 'jsonl', steps: [], losses: [] };
  const head = lines[first]!.trim();
  if (head.startsWith('{')) return collect('jsonl', lines, 0, source, parseJsonLine);
  const columns = head.split(',').map((c) => c.trim().toLowerCase());
  const stepCol = columns.indexOf('step');
  const lossCol = columns.indexOf('loss');
  if (stepCol !== -1 && lossCol !== -1) {
    return collect('csv', lines, first + 1, source, (line, where) =>
      parseCsvLine(line, where, stepCol, lossCol),
    );
  }
  throw new LossHistoryError(
    `${source}: unknown history format: expected JSONL objects with "step" and "detLoss", ` +
      `or a CSV whose header has "step" and "loss" columns (first line: ${JSON.stringify(head.slice(0, 80))})`,
  );
}

type LineParser = (line: string, where: string) => { step: number; loss: number } | undefined;

function collect(
  format: LossHistoryFormat,
  lines: readonly string[],
  start: number,
  source: string,
  parse: LineParser,
): LossHistory {
  const byStep = new Map<number, number>();
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const sample = parse(line, `${source}:${i + 1}`);
    if (sample) byStep.set(sample.step, sample.loss);
  }
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  return { format, steps, losses: steps.map((s) => byStep.get(s)!) };
}

function checkStep(value: unknown, where: string, shown: unknown = value): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new LossHistoryError(
      `${where}: step must be a non-negative integer (got ${JSON.stringify(shown)})`,
    );
  }
  return value;
}

function parseJsonLine(line: string, where: string): { step: number; loss: number } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new LossHistoryError(
      `${where}: not valid JSON (${error instanceof Error ? error.message : error})`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LossHistoryError(`${where}: expected a JSON object with "step" and "detLoss"`);
  }
  const record = value as Record<string, unknown>;
  const step = checkStep(record.step, where);
  if (!('detLoss' in record) || record.detLoss === undefined) return undefined;
  // JSON has no NaN: JSON.stringify writes a NaN or infinite loss as null, so null is a diverged loss.
  if (typeof record.detLoss !== 'number' || !Number.isFinite(record.detLoss)) {
    throw new LossHistoryError(
      `${where}: detLoss must be a finite number (got ${JSON.stringify(record.detLoss)}; null is how JSON ` +
        'writes NaN or Infinity)',
    );
  }
  return { step, loss: record.detLoss };
}

function parseCsvLine(
  line: string,
  where: string,
  stepCol: number,
  lossCol: number,
): { step: number; loss: number } | undefined {
  const cells = line.split(',').map((c) => c.trim());
  const stepText = cells[stepCol];
  const lossText = cells[lossCol];
  if (stepText === undefined || lossText === undefined) {
    throw new LossHistoryError(`${where}: expected at least ${Math.max(stepCol, lossCol) + 1} columns`);
  }
  const step = checkStep(stepText === '' ? Number.NaN : Number(stepText), where, stepText);
  if (lossText === '') return undefined;
  const loss = Number(lossText);
  if (!Number.isFinite(loss)) {
    throw new LossHistoryError(`${where}: loss must be a finite number (got ${JSON.stringify(lossText)})`);
  }
  return { step, loss };
}
