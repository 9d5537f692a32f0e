// The shape every `plateau` subcommand has: a name, a one-line summary for --help, and a run function
// that gets its own arguments and the output streams, and returns the process exit code.
export interface CliIo {
  readonly version: string;
  /**
   * The package's own folder (models/, examples/, trainer-image/): bin/plateau.js passes its location, so every
   * command finds the project's files from any working directory. Tests that call main() directly may leave it out.
   */
  readonly root?: string;
  readonly out: { write(chunk: string): unknown };
  readonly err: { write(chunk: string): unknown };
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Thrown for bad command-line input: printed as one line with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
