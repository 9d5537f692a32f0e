// The trainer's SIGTERM watch: the flag the loop reads, one deadline inside Batch's grace period, and nothing left
// behind once the attempt ends on its own.
import { EventEmitter } from 'node:events';
import {
  BATCH_STOP_GRACE_MS,
  TERMINATION_DEADLINE_MS,
  watchTermination,
} from '../../../trainer-image/src/train/termination.ts';

test('SIGTERM raises the flag and arms one deadline; a second SIGTERM changes nothing', async () => {
  const target = new EventEmitter() as unknown as Pick<NodeJS.Process, 'on' | 'off'>;
  let deadlines = 0;
  const lines: string[] = [];
  const termination = watchTermination({
    target,
    deadlineMs: 30,
    onDeadline: () => deadlines++,
    log: (line) => lines.push(line),
  });
  expect(termination.requested()).toBe(false);
  (target as unknown as EventEmitter).emit('SIGTERM', 'SIGTERM');
  (target as unknown as EventEmitter).emit('SIGTERM', 'SIGTERM');
  expect(termination.requested()).toBe(true);
  expect(lines).toEqual(['SIGTERM: checkpointing the current step, then exiting (at the latest in 0.03 s)']);
  await new Promise((resolve) => setTimeout(resolve, 80));
  expect(deadlines).toBe(1);
  termination.dispose();
  expect((target as unknown as EventEmitter).listenerCount('SIGTERM')).toBe(0);
});

test('an attempt that ends first disarms the deadline', async () => {
  const target = new EventEmitter() as unknown as Pick<NodeJS.Process, 'on' | 'off'>;
  let deadlines = 0;
  const termination = watchTermination({ target, deadlineMs: 30, onDeadline: () => deadlines++ });
  (target as unknown as EventEmitter).emit('SIGTERM', 'SIGTERM');
  termination.dispose();
  await new Promise((resolve) => setTimeout(resolve, 80));
  expect(deadlines).toBe(0);
});

test('the default deadline leaves room inside Batch grace period', () => {
  expect(TERMINATION_DEADLINE_MS).toBeLessThan(BATCH_STOP_GRACE_MS);
});
