// The embedded runtime's Step Functions: runs the monitor ASL rendered from the CDK construct (monitorAsl)
// under aws-local-stepfunctions, with each Lambda Task state bound by name to an in-process handler and the
// hand-over task (RestartMonitor) starting the next execution here. Implements the MonitorStarter port.
import { StateMachine } from 'aws-local-stepfunctions';
import type { MonitorStarter } from '../../shared/pipeline-ports.ts';
import { LOCAL_ARNS, MONITOR_STATES, type MonitorAslOptions, monitorAsl } from '../monitor-asl.ts';

type Json = Parameters<StateMachine['run']>[0];
/** A Lambda handler as the monitor calls it: the state in, a JSON result out. */
export type MonitorTaskHandler = (input: unknown) => Promise<unknown>;

export interface LocalMonitorOptions extends MonitorAslOptions {
  readonly handlers: {
    readonly evaluateStop: MonitorTaskHandler;
    readonly requestStop: MonitorTaskHandler;
    readonly finalize: MonitorTaskHandler;
  };
  /**
   * Replace the Wait states' durations (ms), e.g. in tests; the ASL itself is unchanged.
   * @default - the durations the ASL and the decisions give
   */
  readonly waitOverridesMs?: { readonly initial?: number; readonly loop?: number };
  /**
   * Replace retry back-off intervals (ms).
   * @default - the ASL's IntervalSeconds and BackoffRate
   */
  readonly retryIntervalMs?: number;
  /** Called with every state the executions enter (a progress feed). */
  readonly onState?: (execution: string, state: string) => void;
}

export interface LocalExecution {
  readonly name: string;
  readonly executionArn: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: string;
  readonly done: Promise<void>;
  readonly abort: () => void;
}

export class LocalMonitor implements MonitorStarter {
  readonly asl: ReturnType<typeof monitorAsl>;
  readonly #options: LocalMonitorOptions;
  readonly #machine: StateMachine;
  readonly #executions = new Map<string, LocalExecution>();

  constructor(options: LocalMonitorOptions) {
    this.#options = options;
    this.asl = monitorAsl(options);
    this.#machine = new StateMachine(this.asl as never);
  }

  get executions(): readonly LocalExecution[] {
    return [...this.#executions.values()];
  }

  async start(name: string, input: unknown) {
    const existing = this.#executions.get(name);
    if (existing) return { executionArn: existing.executionArn, alreadyStarted: true };
    const executionArn = `${LOCAL_ARNS.stateMachine.replace(':stateMachine:', ':execution:')}:${name}`;
    const S = MONITOR_STATES;
    const { handlers, waitOverridesMs, retryIntervalMs } = this.#options;
    const asJson = (handler: MonitorTaskHandler) => async (state: Json) => (await handler(state)) as Json;
    const run = this.#machine.run(JSON.parse(JSON.stringify(input)) as Json, {
      context: { Execution: { Id: executionArn, Name: name, StartTime: new Date().toISOString() } },
      overrides: {
        taskResourceLocalHandlers: {
          [S.evaluateStop]: asJson(handlers.evaluateStop),
          [S.requestStop]: asJson(handlers.requestStop),
          [S.finalize]: asJson(handlers.finalize),
          [S.finalizeAsFailed]: asJson(handlers.finalize),
          [S.restartMonitor]: async (parameters: Json) => {
            const { Name, Input } = parameters as { Name: string; Input: unknown };
            const started = await this.start(Name, Input);
            return { ExecutionArn: started.executionArn, StartDate: new Date().toISOString() };
          },
        },
        ...(waitOverridesMs
          ? {
              waitTimeOverrides: {
                ...(waitOverridesMs.initial === undefined
                  ? {}
                  : { [S.initialWait]: waitOverridesMs.initial }),
                ...(waitOverridesMs.loop === undefined ? {} : { [S.wait]: waitOverridesMs.loop }),
              },
            }
          : {}),
        ...(retryIntervalMs === undefined
          ? {}
          : {
              retryIntervalOverrides: {
                [S.evaluateStop]: retryIntervalMs,
                [S.requestStop]: retryIntervalMs,
                [S.finalize]: retryIntervalMs,
                [S.finalizeAsFailed]: retryIntervalMs,
                [S.restartMonitor]: retryIntervalMs,
              },
            }),
      },
    });
    const execution: LocalExecution = {
      name,
      executionArn,
      status: 'RUNNING',
      abort: run.abort,
      done: run.result.then(
        (output) => {
          execution.status = 'SUCCEEDED';
          execution.output = output;
        },
        (error: unknown) => {
          execution.status = execution.status === 'ABORTED' ? 'ABORTED' : 'FAILED';
          execution.error = error instanceof Error ? error.message : String(error);
        },
      ),
    };
    this.#executions.set(name, execution);
    if (this.#options.onState) void this.#follow(name, run.eventLogs);
    return { executionArn, alreadyStarted: false };
  }

  /** Resolves when no execution is running (hand-overs included). */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.executions.filter((e) => e.status === 'RUNNING');
      if (running.length === 0) return;
      await Promise.all(running.map((e) => e.done));
    }
  }

  /** Aborts every running execution. */
  async close(): Promise<void> {
    for (const execution of this.executions) {
      if (execution.status === 'RUNNING') {
        execution.status = 'ABORTED';
        execution.abort();
      }
    }
    await Promise.all(this.executions.map((e) => e.done));
  }

  async #follow(name: string, events: AsyncGenerator<{ type: string; state?: { name: string } }>) {
    try {
      for await (const event of events) {
        if (event.type === 'StateEntered' && event.state) this.#options.onState?.(name, event.state.name);
      }
    } catch {
      // The execution's own promise reports failures.
    }
  }
}
