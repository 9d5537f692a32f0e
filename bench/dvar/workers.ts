// A pool of child node processes, at most `size` at a time, each running `argv(share)`; rejects with the first
// failure's stderr tail. The benchmark uses it to record its runs on every core before evaluating them.
import { spawn } from 'node:child_process';

export async function workerPool<T>(
  shares: readonly T[],
  size: number,
  argv: (share: T) => string[],
  log: (line: string) => void,
): Promise<void> {
  const queue = [...shares];
  const worker = async (): Promise<void> => {
    for (let share = queue.shift(); share !== undefined; share = queue.shift()) {
      const args = argv(share);
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        let tail = '';
        child.stderr.on('data', (chunk: Buffer) => {
          const text = chunk.toString();
          for (const line of text.split('\n').filter(Boolean))
            log(`  worker: ${line.replace(/^\[\s*\d+ s\] /, '')}`);
          tail = (tail + text).slice(-2000);
        });
        child.on('error', reject);
        child.on('exit', (code) =>
          code === 0
            ? resolve()
            : reject(new Error(`worker ${args.slice(1).join(' ')} exited ${code}:\n${tail}`)),
        );
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, shares.length) }, worker));
}
