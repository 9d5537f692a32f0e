// One-line failure reasons for the job record: the error's first line and where it was thrown, so a FAILED job
// says why without anyone opening the trainer's log. Used by the trainer (its own errors) and by the embedded
// job runner (a trainer that died before it could record anything, read from its stderr).
import { isAbsolute, relative } from 'node:path';

/** The first stack frame in our own code (not node internals, not node_modules), as `path:line:col`. */
export function whereThrown(stack: string, cwd: string): string | undefined {
  for (const line of stack.split('\n')) {
    const match = /^\s+at (?:.*\()?(?:file:\/\/)?([^()\s]+?):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!match) continue;
    const [, file = '', row, col] = match;
    if (file.startsWith('node:') || file.includes('/node_modules/') || !isAbsolute(file)) continue;
    const shown = relative(cwd, file);
    return `${shown.startsWith('..') ? file : shown}:${row}:${col}`;
  }
  return undefined;
}

/** `<Name: >first line of the message (at file:line:col)`; the name is left out for a plain Error. */
export function summarizeError(error: unknown, cwd: string = process.cwd()): string {
  if (!(error instanceof Error)) return String(error).split('\n')[0] ?? '';
  const firstLine = error.message.split('\n')[0] ?? '';
  const named = error.name && error.name !== 'Error' ? `${error.name}: ${firstLine}` : firstLine;
  const where = error.stack ? whereThrown(error.stack, cwd) : undefined;
  return where ? `${named} (at ${where})` : named;
}

/**
 * The error a Node process printed before it died (an uncaught exception: `Error: …` or `Error [CODE]: …`,
 * followed by its stack), summarized like summarizeError; undefined when the output holds none.
 */
export function errorFromOutput(output: string, cwd: string): string | undefined {
  const lines = output.split('\n');
  const index = lines.findIndex((line) => /^(?:[A-Z]\w*)?(?:Error|Exception)\b(?: \[\w+\])?:/.test(line));
  if (index < 0) return undefined;
  const headline = (lines[index] ?? '').replace(/^Error( \[\w+\])?: /, '');
  const where = whereThrown(lines.slice(index + 1).join('\n'), cwd);
  return where ? `${headline} (at ${where})` : headline;
}
