// The CDK app `cdk.json` runs (`node infra/app.ts`): one PlateauStack, options from context
// (`-c instanceTypes=g5.xlarge,g6.xlarge -c spot=false -c maxvCpus=32 -c gpuHourPriceUsd=0.8`), and the
// cdk-nag AwsSolutions pack as a validation plugin, so `cdk synth` fails on any unacknowledged finding.
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readStackContext } from './context.ts';
import { PlateauStack } from './plateau-stack.ts';

const app = new App();
new PlateauStack(app, app.node.tryGetContext('stackName') ?? 'Plateau', {
  // Asset paths (Lambda entries, the trainer image) from this file's folder, so `cdk` works from any directory.
  projectRoot: resolve(import.meta.dirname, '..'),
  ...readStackContext((key) => app.node.tryGetContext(key)),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
