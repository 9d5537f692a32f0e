// MonitorStarter on Step Functions: StartExecution named after the job. Execution names are unique per state
// machine (for 90 days), so a replayed start gets ExecutionAlreadyExists, which means "already started".
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { MonitorStarter } from '../pipeline-ports.ts';
import { errorName } from './clients.ts';

export class SfnMonitorStarter implements MonitorStarter {
  readonly #client: SFNClient;
  readonly #stateMachineArn: string;

  constructor(client: SFNClient, stateMachineArn: string) {
    this.#client = client;
    this.#stateMachineArn = stateMachineArn;
  }

  async start(name: string, input: unknown): Promise<{ executionArn: string; alreadyStarted: boolean }> {
    try {
      const out = await this.#client.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      if (!out.executionArn) throw new Error('StartExecution returned no executionArn');
      return { executionArn: out.executionArn, alreadyStarted: false };
    } catch (error) {
      if (errorName(error) !== 'ExecutionAlreadyExists') throw error;
      return { executionArn: executionArnFor(this.#stateMachineArn, name), alreadyStarted: true };
    }
  }
}

/** arn:…:states:<region>:<account>:stateMachine:<sm> → arn:…:states:<region>:<account>:execution:<sm>:<name>. */
export function executionArnFor(stateMachineArn: string, name: string): string {
  const marker = ':stateMachine:';
  const at = stateMachineArn.indexOf(marker);
  if (at < 0) throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return `${stateMachineArn.slice(0, at)}:execution:${stateMachineArn.slice(at + marker.length)}:${name}`;
}
