// `plateau start` (what `npm start` runs): personalizes the bundled example concept on the embedded
// default base model. Until that model exists it says so plainly and fails instead of faking output.
import type { Command } from '../command.ts';

export const startCommand: Command = {
  name: 'start',
  summary: 'Run the bundled example end to end on the embedded default model',
  usage: 'plateau start',
  async run(_args, io) {
    io.err.write(
      'plateau start: not available yet. It needs the embedded default base model (models/), which has not been built yet.\n' +
        'Nothing was run. See README.md for what works today.\n',
    );
    return 1;
  },
};
