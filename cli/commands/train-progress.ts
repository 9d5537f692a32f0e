// `plateau train`'s progress display: a live bar redrawn in place on a terminal, one line every N steps in a log,
// or JSON lines on stdout with --json; each with the step rate and an upper bound on the time left.
import type { StepProgress } from '../../trainer-image/src/train/train-loop.ts';
import type { CliIo } from '../command.ts';

/** On a terminal the progress line is redrawn at most this often (every step would flood a slow terminal). */
const TTY_REDRAW_MS = 100;

/** 95 → "1m35s", for the ETA (an upper bound: DVAR usually stops long before the cap). */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `[██████░░░░░░] 50%`: the share of the step cap done (DVAR usually ends the run before the bar fills). */
export function progressBar(done: number, total: number, width = 20): string {
  const share = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(share * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%`;
}

export interface ProgressSettings {
  readonly json: boolean;
  /** The step cap: the bar's 100% and the ETA's end. */
  readonly maxSteps: number;
  /** Outside a terminal, one line every this many steps. */
  readonly progressEvery: number;
}

export interface TrainProgress {
  /** The rate is measured from here (the first step this process trains). */
  start(fromStep: number): void;
  step(p: StepProgress): void;
  /** Draws the last, possibly skipped, frame and ends the terminal line. */
  finish(): void;
  /** When the rate's measurement started (ms since the epoch). */
  readonly startedAt: number;
}

export function createProgress(io: CliIo, settings: ProgressSettings): TrainProgress {
  const { json, maxSteps, progressEvery } = settings;
  // On a terminal the progress line is rewritten in place; in a log or pipe it is one line per report.
  const tty = !json && 'isTTY' in io.err && io.err.isTTY === true;
  let from = { step: 0, at: Date.now() };
  let lastDrawAt = 0;
  let lastDet: number | undefined;
  let undrawn: StepProgress | undefined;
  const show = (p: StepProgress): void => {
    const done = p.step + 1;
    const seconds = (Date.now() - from.at) / 1000;
    const rate = seconds > 0 ? (done - from.step) / seconds : 0;
    const eta = rate > 0 ? (maxSteps - done) / rate : null;
    if (json) {
      const event = { event: 'progress', step: p.step, detLoss: p.detLoss ?? null, trainLoss: p.trainLoss };
      io.out.write(
        `${JSON.stringify({ ...event, ratio: p.ratio ?? null, stepsPerSecond: rate, etaSeconds: eta })}\n`,
      );
      return;
    }
    const shownDet = tty ? lastDet : p.detLoss;
    const det = shownDet === undefined ? '' : `  det ${shownDet.toPrecision(5)}`;
    const ratio = p.ratio === null || p.ratio === undefined ? '' : `  ratio ${p.ratio.toFixed(3)}`;
    const etaText = eta === null ? '' : `  ETA ≤ ${formatSeconds(eta)}`;
    const line = `step ${done}/${maxSteps}${det}  train ${p.trainLoss.toPrecision(5)}${ratio}  ${rate.toFixed(2)} steps/s${etaText}`;
    io.err.write(tty ? `\r${progressBar(done, maxSteps)} ${line}\u001b[K` : `${line}\n`);
  };
  return {
    get startedAt() {
      return from.at;
    },
    start(fromStep) {
      from = { step: fromStep, at: Date.now() };
    },
    step(p) {
      if (p.detLoss !== undefined) lastDet = p.detLoss;
      // A terminal gets a live bar redrawn in place; logs and --json get one report every progressEvery steps.
      const now = Date.now();
      const due = tty ? now - lastDrawAt >= TTY_REDRAW_MS : (p.step + 1) % progressEvery === 0;
      if (!due) {
        undrawn = p;
        return;
      }
      lastDrawAt = now;
      undrawn = undefined;
      show(p);
    },
    finish() {
      // The bar's last frame shows where the run ended (DVAR, cap or STOP), however recent the previous one.
      if (tty && undrawn) show(undrawn);
      if (tty) io.err.write('\n');
    },
  };
}
