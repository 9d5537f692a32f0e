// The `plateau` command line: dispatches to one module per subcommand, prints --help and --version.
// Kept free of process globals so tests call main() directly with their own streams.
import { type CliIo, type Command, UsageError } from './command.ts';
import { cancelCommand } from './commands/cancel.ts';
import { dvarCommand } from './commands/dvar.ts';
import { gradcheckCommand } from './commands/gradcheck.ts';
import { runCommand } from './commands/run.ts';
import { startCommand } from './commands/start.ts';
import { statusCommand } from './commands/status.ts';
import { submitCommand } from './commands/submit.ts';
import { trainCommand } from './commands/train.ts';
import { upCommand } from './commands/up.ts';
import { watchCommand } from './commands/watch.ts';

export const COMMANDS: readonly Command[] = [
  startCommand,
  dvarCommand,
  gradcheckCommand,
  upCommand,
  runCommand,
  submitCommand,
  statusCommand,
  watchCommand,
  cancelCommand,
  trainCommand,
];

function helpText(io: CliIo): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `plateau ${io.version}: personalize text-to-image diffusion models and stop when the concept is learned (DVAR).`,
    '',
    'Usage: plateau <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    "  -h, --help     show this help (or a command's help: plateau <command> --help)",
    '  -v, --version  print the version',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.out.write(helpText(io));
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version') {
    io.out.write(`${io.version}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    io.err.write(`plateau: unknown command '${first}'. Run 'plateau --help' for the list.\n`);
    return 2;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    io.out.write(`Usage: ${command.usage}\n\n${command.summary}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err.write(`plateau ${command.name}: ${error.message}\nUsage: ${command.usage}\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err.write(`plateau ${command.name}: ${message}\n`);
    return 1;
  }
}
