// The monitor ASL rendered from the construct, executed by aws-local-stepfunctions with scripted task
// handlers: the continue → stop → finished → finalize path, retry of a task that throws once, the catch path
// to finalize with a failure, and the hand-over to a new execution that bounds the history.
import { StateMachine } from 'aws-local-stepfunctions';
import { monitorAsl, MONITOR_STATES as S } from '../../infra/monitor-asl.ts';
import { isValidJobId } from '../../shared/keys.ts';

type Json = Parameters<StateMachine['run']>[0];
type Decision = {
  action: 'continue' | 'stop' | 'finished' | 'failed';
  waitSeconds: number;
  criterionStep?: number;
};

function script(decisions: readonly (Decision | Error)[]) {
  const calls = {
    evaluate: [] as Json[],
    requestStop: [] as Json[],
    finalize: [] as Json[],
    restart: [] as Json[],
  };
  let next = 0;
  const handlers = {
    [S.evaluateStop]: async (input: Json) => {
      calls.evaluate.push(input);
      const step = decisions[Math.min(next++, decisions.length - 1)];
      if (step instanceof Error) throw step;
      return step as unknown as Json;
    },
    [S.requestStop]: async (input: Json) => {
      calls.requestStop.push(input);
      return { ...(input as object), stopRequested: true, extra: 'dropped by ResultPath' };
    },
    [S.finalize]: async (input: Json) => {
      calls.finalize.push(input);
      return { status: 'SUCCEEDED' };
    },
    [S.restartMonitor]: async (input: Json) => {
      calls.restart.push(input);
      return { ExecutionArn: 'arn:aws:states:us-east-1:000000000000:execution:plateau-monitor:next' };
    },
  };
  return { calls, handlers };
}

const fast = {
  waitTimeOverrides: { [S.wait]: 0, [S.initialWait]: 0 },
  retryIntervalOverrides: { [S.evaluateStop]: 0, [S.requestStop]: 0, [S.finalize]: 0 },
};

async function run(
  asl: ReturnType<typeof monitorAsl>,
  input: Json,
  handlers: ReturnType<typeof script>['handlers'],
) {
  const machine = new StateMachine(asl as never);
  return machine.run(input, { overrides: { ...fast, taskResourceLocalHandlers: handlers } }).result;
}

describe('monitor ASL under aws-local-stepfunctions', () => {
  const asl = monitorAsl();

  it('continues, requests the stop once, waits for the trainer to exit, then finalizes', async () => {
    const { calls, handlers } = script([
      { action: 'continue', waitSeconds: 3 },
      { action: 'stop', waitSeconds: 1, criterionStep: 311 },
      { action: 'continue', waitSeconds: 1, criterionStep: 311 },
      { action: 'finished', waitSeconds: 1, criterionStep: 311 },
    ]);
    const output = (await run(asl, { jobId: 'job-1' }, handlers)) as Record<string, unknown>;
    expect(calls.evaluate).toHaveLength(4);
    expect(calls.requestStop).toHaveLength(1);
    expect(calls.evaluate[2]).toMatchObject({ jobId: 'job-1', stopRequested: true });
    expect(calls.finalize).toHaveLength(1);
    expect(calls.finalize[0]).toMatchObject({
      jobId: 'job-1',
      stopRequested: true,
      decision: { action: 'finished', criterionStep: 311 },
      monitor: { generation: 0, loops: 4 },
    });
    expect(output.finalized).toEqual({ status: 'SUCCEEDED' });
    expect(output).not.toHaveProperty('extra');
  });

  it('retries an evaluate-stop that throws once', async () => {
    const { calls, handlers } = script([new Error('transient'), { action: 'finished', waitSeconds: 1 }]);
    await run(asl, { jobId: 'job-2' }, handlers);
    expect(calls.evaluate).toHaveLength(2);
    expect(calls.finalize[0]).toMatchObject({ decision: { action: 'finished' } });
  });

  it('rides out an outage: failed evaluations go back to the wait, and the job still finishes', async () => {
    // 5 evaluations, each failing its 4 attempts (a 90 s throttling spell, say), then the trainer has exited.
    const outage = Array.from({ length: 20 }, () => new Error('ThrottlingException: Rate exceeded'));
    const { calls, handlers } = script([...outage, { action: 'finished', waitSeconds: 1 }]);
    await run(asl, { jobId: 'job-4' }, handlers);
    expect(calls.evaluate).toHaveLength(21);
    expect(calls.requestStop).toHaveLength(0);
    expect(calls.finalize).toHaveLength(1);
    expect(calls.finalize[0]).toMatchObject({ decision: { action: 'finished' }, monitor: { errors: 0 } });
  });

  it('turns an evaluate-stop that keeps failing into a failed decision that finalize records', async () => {
    const { calls, handlers } = script([new TypeError('table unreachable')]);
    await run(asl, { jobId: 'job-3' }, handlers);
    // 10 failed evaluations in a row (maxConsecutiveErrors), of 4 attempts each.
    expect(calls.evaluate).toHaveLength(40);
    expect(calls.finalize).toHaveLength(1);
    expect(calls.finalize[0]).toMatchObject({
      decision: { action: 'failed', waitSeconds: 1, reason: expect.stringContaining('table unreachable') },
    });
  });

  it('hands a long job over to a new execution after maxLoops evaluations, which resumes at Wait', async () => {
    const short = monitorAsl({ maxLoops: 2 });
    const first = script([{ action: 'continue', waitSeconds: 5 }]);
    const output = (await run(short, { jobId: 'long' }, first.handlers)) as Record<string, unknown>;
    expect(first.calls.evaluate).toHaveLength(2);
    expect(first.calls.finalize).toHaveLength(0);
    expect(first.calls.restart).toHaveLength(1);
    const restart = first.calls.restart[0] as { Name: string; Input: Record<string, unknown> };
    expect(restart.Name).toBe('long.g1');
    expect(isValidJobId(restart.Name)).toBe(false); // no job's own execution can have this name
    expect(restart.Input).toMatchObject({ jobId: 'long', monitor: { generation: 1, loops: 0 } });
    expect(output.restarted).toBeDefined();

    const second = script([{ action: 'finished', waitSeconds: 1 }]);
    const machine = new StateMachine(short as never);
    const execution = machine.run(restart.Input as Json, {
      overrides: { ...fast, taskResourceLocalHandlers: second.handlers },
    });
    const entered: string[] = [];
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') entered.push(event.state.name);
    }
    await execution.result;
    expect(entered.slice(0, 3)).toEqual([S.isContinuation, S.continueGeneration, S.wait]);
    expect(entered).not.toContain(S.initialWait);
    expect(second.calls.finalize[0]).toMatchObject({ jobId: 'long', monitor: { generation: 1, loops: 1 } });
  });
});
