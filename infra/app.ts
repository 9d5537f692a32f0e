// The CDK app `cdk.json` runs (`node infra/app.ts`): one PlateauStack, options from context
// (`-c instanceTypes=g5.xlarge,g6.xlarge -c spot=false -c maxvCpus=32 -c gpuHourPriceUsd=0.8`), and the
// cdk-nag AwsSolutions pack as a validation plugin, so `cdk synth` fails on any unacknowledged finding.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readStackContext } from './context.ts';
import { PlateauStack } from './plateau-stack.ts';

const app = new App();
new PlateauStack(app, app.node.tryGetContext('stackName') ?? 'Plateau', {
  projectRoot: process.cwd(),
  ...readStackContext((key) => app.node.tryGetContext(key)),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
