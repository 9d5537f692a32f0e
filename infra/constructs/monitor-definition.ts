// The monitor's states (the contract in shared/monitor-contract.ts): Wait → evaluate-stop → Choice on
// $.decision.action; continue loops, stop runs request-stop and keeps evaluating until the trainer exits,
// finished | failed run finalize. Bounded history: after maxLoops evaluations the execution hands its state
// to a fresh execution of the same state machine and succeeds (Standard workflows cap history at 25,000
// events; one loop costs about 11, so the default 1,000 loops stays well below it whatever the job length).
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

/** State names: the embedded runtime binds its in-process handlers to these. */
export const MONITOR_STATES = {
  begin: 'Begin',
  isContinuation: 'IsContinuation',
  continueGeneration: 'ContinueGeneration',
  initialWait: 'InitialWait',
  wait: 'Wait',
  evaluateStop: 'EvaluateStop',
  countLoop: 'CountLoop',
  decide: 'Decide',
  requestStop: 'RequestStop',
  stopRequested: 'StopRequested',
  checkHistory: 'CheckHistory',
  nextGeneration: 'NextGeneration',
  restartMonitor: 'RestartMonitor',
  handedOver: 'HandedOver',
  monitorError: 'MonitorError',
  tooManyErrors: 'TooManyErrors',
  retryLater: 'RetryLater',
  monitorFailed: 'MonitorFailed',
  finalize: 'Finalize',
  done: 'Done',
  finalizeFallback: 'FinalizeFallback',
  finalizeAsFailed: 'FinalizeAsFailed',
  finalizeFailed: 'FinalizeFailed',
} as const;

/** The Lambda tasks of the monitor. */
export interface MonitorFunctions {
  readonly evaluateStop: lambda.IFunction;
  readonly requestStop: lambda.IFunction;
  readonly finalize: lambda.IFunction;
}

export interface MonitorDefinitionProps {
  readonly functions: MonitorFunctions;
  /** The monitor itself, which a long job's execution restarts with its state (bounded history). */
  readonly self: sfn.IStateMachine;
  /**
   * Seconds before the first evaluation. Short on purpose: evaluate-stop itself waits longer while the
   * trainer has no samples yet, and a long fixed wait would add to the stop latency of fast jobs.
   * @default 10
   */
  readonly initialWaitSeconds?: number;
  /**
   * Evaluations per execution before the state is handed to a new execution.
   * @default 1000
   */
  readonly maxLoops?: number;
  /**
   * Evaluations in a row that may fail (after each task's own retries) before the job is failed; between them
   * the monitor goes back to its wait, so throttling or a Batch/DynamoDB outage costs time, not the job.
   * @default 10
   */
  readonly maxConsecutiveErrors?: number;
  /**
   * The wait after a failed evaluation.
   * @default 30
   */
  readonly errorWaitSeconds?: number;
  /**
   * Per-attempt timeouts of the Lambda tasks (each a little above the function's own timeout).
   * @default evaluate-stop 60 s, request-stop 30 s, finalize 300 s
   */
  readonly taskTimeouts?: {
    readonly evaluateStop?: Duration;
    readonly requestStop?: Duration;
    readonly finalize?: Duration;
  };
}

/** Retries every Lambda task gets: transient Lambda service errors, then a few for errors the function throws. */
function addRetries(task: sfn.TaskStateBase, attemptsOnTaskFailure: number): void {
  task.addRetry({
    errors: [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ],
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  task.addRetry({
    errors: [sfn.Errors.TIMEOUT],
    interval: Duration.seconds(5),
    maxAttempts: 2,
    backoffRate: 2,
  });
  task.addRetry({
    errors: [sfn.Errors.TASKS_FAILED],
    interval: Duration.seconds(5),
    maxAttempts: attemptsOnTaskFailure,
    backoffRate: 2,
  });
}

function invoke(scope: Construct, id: string, fn: lambda.IFunction, resultPath: string, timeout: Duration) {
  // payloadResponseOnly: the task's Resource is the function ARN and its result is the handler's return
  // value, so the embedded runtime can run the same ASL with the ARN mapped to an in-process handler.
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: fn,
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    resultPath,
    taskTimeout: sfn.Timeout.duration(timeout),
  });
  return task;
}

export class MonitorDefinition extends Construct {
  /** The first state; pass it to DefinitionBody.fromChainable or a StateGraph. */
  readonly startState: sfn.State;

  constructor(scope: Construct, id: string, props: MonitorDefinitionProps) {
    super(scope, id);
    const S = MONITOR_STATES;
    const timeouts = props.taskTimeouts ?? {};
    const maxLoops = props.maxLoops ?? 1000;

    const evaluateStop = invoke(
      this,
      S.evaluateStop,
      props.functions.evaluateStop,
      '$.decision',
      timeouts.evaluateStop ?? Duration.seconds(60),
    );
    // request-stop returns the whole MonitorState with stopRequested set, parsed by zod, which drops the
    // monitor's own bookkeeping ($.monitor); so its result is discarded and the flag is set by a Pass.
    const requestStop = invoke(
      this,
      S.requestStop,
      props.functions.requestStop,
      sfn.JsonPath.DISCARD,
      timeouts.requestStop ?? Duration.seconds(30),
    );
    const stopRequested = new sfn.Pass(this, S.stopRequested, {
      result: sfn.Result.fromBoolean(true),
      resultPath: '$.stopRequested',
    });
    const finalize = invoke(
      this,
      S.finalize,
      props.functions.finalize,
      '$.finalized',
      timeouts.finalize ?? Duration.seconds(300),
    );
    addRetries(evaluateStop, 3);
    addRetries(requestStop, 3);
    addRetries(finalize, 3);

    // Any unrecoverable monitor error becomes a 'failed' decision, so finalize still marks the job FAILED.
    const monitorFailed = new sfn.Pass(this, S.monitorFailed, {
      parameters: {
        action: 'failed',
        waitSeconds: 1,
        reason: sfn.JsonPath.format(
          'monitor error {}: {}',
          sfn.JsonPath.stringAt('$.error.Error'),
          sfn.JsonPath.stringAt('$.error.Cause'),
        ),
      },
      resultPath: '$.decision',
    });
    const finalizeFailed = new sfn.Fail(this, S.finalizeFailed, {
      error: 'FinalizeFailed',
      causePath: '$.error.Cause',
    });
    const done = new sfn.Succeed(this, S.done);
    // finalize failing on every attempt must still end the job: the same function runs once more in its
    // last-resort mode ($.finalizeError set: FAILED with the cause, then the completion event), which touches
    // only the record and the bus. Only if that fails too does the execution end in the Fail state.
    const finalizeFallback = new sfn.Pass(this, S.finalizeFallback, {
      parameters: {
        jobId: sfn.JsonPath.stringAt('$.jobId'),
        finalizeError: sfn.JsonPath.format(
          '{}: {}',
          sfn.JsonPath.stringAt('$.error.Error'),
          sfn.JsonPath.stringAt('$.error.Cause'),
        ),
      },
    });
    const finalizeAsFailed = invoke(
      this,
      S.finalizeAsFailed,
      props.functions.finalize,
      '$.finalized',
      timeouts.finalize ?? Duration.seconds(300),
    );
    addRetries(finalizeAsFailed, 3);
    finalize.addCatch(finalizeFallback, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    finalizeFallback.next(finalizeAsFailed);
    finalizeAsFailed.addCatch(finalizeFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    finalizeAsFailed.next(done);
    monitorFailed.next(finalize);
    finalize.next(done);

    const wait = new sfn.Wait(this, S.wait, { time: sfn.WaitTime.secondsPath('$.decision.waitSeconds') });
    const initialWait = new sfn.Wait(this, S.initialWait, {
      time: sfn.WaitTime.duration(Duration.seconds(props.initialWaitSeconds ?? 10)),
    });
    const countLoop = new sfn.Pass(this, S.countLoop, {
      // A successful evaluation resets the count of failed ones in a row.
      parameters: {
        generation: sfn.JsonPath.numberAt('$.monitor.generation'),
        loops: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.monitor.loops'), 1),
        errors: 0,
      },
      resultPath: '$.monitor',
    });
    const nextGeneration = new sfn.Pass(this, S.nextGeneration, {
      parameters: {
        generation: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.monitor.generation'), 1),
        loops: 0,
        errors: 0,
      },
      resultPath: '$.monitor',
    });
    const restartMonitor = new tasks.StepFunctionsStartExecution(this, S.restartMonitor, {
      stateMachine: props.self,
      // "." cannot occur in a jobId (shared/keys.ts), so job `cat`'s hand-over `cat.g1` never takes the name
      // of another job's first execution (with "-", job `cat-g1` would).
      name: sfn.JsonPath.format(
        '{}.g{}',
        sfn.JsonPath.stringAt('$.jobId'),
        sfn.JsonPath.stringAt('$.monitor.generation'),
      ),
      input: sfn.TaskInput.fromJsonPathAt('$'),
      resultPath: '$.restarted',
      taskTimeout: sfn.Timeout.duration(Duration.seconds(30)),
    });
    restartMonitor.addRetry({
      errors: [sfn.Errors.ALL],
      interval: Duration.seconds(2),
      maxAttempts: 3,
      backoffRate: 2,
    });
    const handedOver = new sfn.Succeed(this, S.handedOver);

    // A monitor error is not a job failure: after the task's own retries the loop waits and evaluates again;
    // only maxConsecutiveErrors failures in a row (a lasting outage, a bug) fail the job.
    const monitorError = new sfn.Pass(this, S.monitorError, {
      parameters: {
        generation: sfn.JsonPath.numberAt('$.monitor.generation'),
        loops: sfn.JsonPath.numberAt('$.monitor.loops'),
        errors: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.monitor.errors'), 1),
      },
      resultPath: '$.monitor',
    });
    const retryLater = new sfn.Pass(this, S.retryLater, {
      result: sfn.Result.fromObject({ action: 'continue', waitSeconds: props.errorWaitSeconds ?? 30 }),
      resultPath: '$.decision',
    });
    evaluateStop.addCatch(monitorError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    requestStop.addCatch(monitorError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    restartMonitor.addCatch(monitorFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    const tooManyErrors = new sfn.Choice(this, S.tooManyErrors)
      .when(
        sfn.Condition.numberGreaterThanEquals('$.monitor.errors', props.maxConsecutiveErrors ?? 10),
        monitorFailed,
      )
      .otherwise(retryLater);
    monitorError.next(tooManyErrors);
    const checkHistory = new sfn.Choice(this, S.checkHistory)
      .when(
        sfn.Condition.numberGreaterThanEquals('$.monitor.loops', maxLoops),
        nextGeneration.next(restartMonitor).next(handedOver),
      )
      .otherwise(wait);
    retryLater.next(checkHistory);
    wait.next(evaluateStop);
    requestStop.next(stopRequested).next(checkHistory);
    const decide = new sfn.Choice(this, S.decide)
      .when(
        sfn.Condition.or(
          sfn.Condition.stringEquals('$.decision.action', 'finished'),
          sfn.Condition.stringEquals('$.decision.action', 'failed'),
        ),
        finalize,
      )
      .when(sfn.Condition.stringEquals('$.decision.action', 'stop'), requestStop)
      .otherwise(checkHistory);
    evaluateStop.next(countLoop).next(decide);

    // A fresh execution starts at InitialWait; a hand-over (input carries $.monitor) resumes at Wait.
    const begin = new sfn.Pass(this, S.begin, {
      result: sfn.Result.fromObject({ generation: 0, loops: 0, errors: 0 }),
      resultPath: '$.monitor',
    });
    const continueGeneration = new sfn.Pass(this, S.continueGeneration, {
      parameters: { generation: sfn.JsonPath.numberAt('$.monitor.generation'), loops: 0, errors: 0 },
      resultPath: '$.monitor',
    });
    const isContinuation = new sfn.Choice(this, S.isContinuation)
      .when(sfn.Condition.isPresent('$.monitor'), continueGeneration.next(wait))
      .otherwise(begin.next(initialWait).next(evaluateStop));
    this.startState = isContinuation;
  }
}
