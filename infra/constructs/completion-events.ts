// The EventBridge bus that receives "Plateau Job Finished" events from finalize; consumers add rules to it.
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { ENV } from '../../shared/env.ts';
import type { BindingTarget } from './binding.ts';

export class CompletionEvents extends Construct {
  /** The bus completion events are published on. */
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus');
  }

  /** Sets ENV.EVENT_BUS and grants events:PutEvents on this bus only. */
  bind(target: BindingTarget): void {
    target.addEnvironment(ENV.EVENT_BUS, this.bus.eventBusName);
    this.bus.grantPutEventsTo(target);
  }
}
