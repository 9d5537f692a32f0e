// StopSignal backed by a file: the run stops at its next flush once the file exists; the file's first line
// (if any) is the reason. Lets a user or a test stop a standalone run from outside (`touch out/STOP`).
import { readFile } from 'node:fs/promises';
import type { StopSignal } from '../ports.ts';

export class FileStopSignal implements StopSignal {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async check(): Promise<{ readonly stop: boolean; readonly reason?: string }> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { stop: false };
      throw error;
    }
    const reason = text.split('\n')[0]?.trim();
    return reason ? { stop: true, reason } : { stop: true, reason: 'stop-requested' };
  }
}
