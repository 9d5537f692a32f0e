// The HMAC key that signs webhook deliveries, generated at deploy time and readable only by finalize.
import { Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../../shared/env.ts';
import type { BindingTarget } from './binding.ts';

export class WebhookSecret extends Construct {
  /** The generated secret (a 48-character alphanumeric string). */
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: 'plateau webhook HMAC-SHA256 signing key',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Webhook receivers verify signatures with this key; rotating it automatically would break them. Rotate it by hand together with the receivers.',
    });
  }

  /** Sets ENV.WEBHOOK_SECRET_ARN and grants secretsmanager:GetSecretValue on this secret only. */
  bind(target: BindingTarget): void {
    target.addEnvironment(ENV.WEBHOOK_SECRET_ARN, this.secret.secretArn);
    this.secret.grantRead(target);
  }
}
