// `plateau dvar`: replays a loss history (the project's JSONL samples or a `step,loss` CSV) through the DVAR
// criterion and reports the step where it first held; for choosing a window and threshold from past runs.
import { readFile } from 'node:fs/promises';
import { DVAR_DEFAULTS, DvarTracker } from '../../shared/dvar.ts';
import { parseLossHistory } from '../../shared/dvar-history.ts';
import { type Command, parseOptions, stringOption, UsageError } from '../command.ts';
import { dvarFromFlags } from '../job-options.ts';

const DEFAULTS = DVAR_DEFAULTS['textual-inversion'];

export interface DvarReplay {
  readonly criterionStep: number | null;
  readonly samples: number;
  readonly window: number;
  readonly threshold: number;
  readonly finalRatio: number | null;
}

function parseDvarOptions(args: readonly string[]): {
  history: string;
  window: number;
  threshold: number;
  json: boolean;
} {
  const values = parseOptions(args, {
    history: { type: 'string' },
    method: { type: 'string' },
    window: { type: 'string' },
    threshold: { type: 'string' },
    json: { type: 'boolean' },
  });
  const history = stringOption(values, 'history');
  if (!history) throw new UsageError('--history <file> is required');
  return { history, ...dvarFromFlags(values), json: values.json === true };
}

async function readHistoryFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : String((error as Error).message);
    throw new Error(`cannot read history file '${path}': ${reason}`);
  }
}

export const dvarCommand: Command = {
  name: 'dvar',
  summary: 'Replay a loss history (JSONL detLoss or step,loss CSV) and show where DVAR first holds',
  usage:
    `plateau dvar --history <file> [--method m] [--window W (default ${DEFAULTS.window})] [--threshold a (default ${DEFAULTS.threshold})] [--json]\n` +
    "  --window, --threshold: job.json's limits; unset ones are --method's defaults (textual inversion's without it)",
  async run(args, io) {
    const options = parseDvarOptions(args);
    const history = parseLossHistory(await readHistoryFile(options.history), options.history);
    const tracker = new DvarTracker({ window: options.window, threshold: options.threshold });
    let criterionStep: number | null = null;
    let criterionSample = 0;
    let criterionRatio = 0;
    for (let i = 0; i < history.losses.length; i++) {
      // The parser has already rejected non-finite losses with their line number.
      const held = tracker.push(history.losses[i]!).holds;
      if (held && criterionStep === null) {
        criterionStep = history.steps[i]!;
        criterionSample = i + 1;
        criterionRatio = tracker.ratio!;
      }
    }
    const replay: DvarReplay = {
      criterionStep,
      samples: history.losses.length,
      window: options.window,
      threshold: options.threshold,
      finalRatio: tracker.ratio ?? null,
    };
    if (options.json) {
      io.out.write(`${JSON.stringify(replay)}\n`);
      return 0;
    }
    const settings = `window ${replay.window}, threshold ${replay.threshold}`;
    const final = replay.finalRatio === null ? 'undefined' : replay.finalRatio.toPrecision(4);
    if (criterionStep !== null) {
      io.out.write(
        `DVAR (${settings}) first held at step ${criterionStep}: ratio ${criterionRatio.toPrecision(4)} ` +
          `after ${criterionSample} of ${replay.samples} samples (final ratio ${final}).\n`,
      );
    } else {
      const why =
        replay.samples < replay.window ? `; fewer samples than the window, so it cannot hold yet` : '';
      io.out.write(
        `DVAR (${settings}) never held in ${replay.samples} samples (final ratio ${final})${why}.\n`,
      );
    }
    return 0;
  },
};
