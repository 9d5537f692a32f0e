// The model card: window means of the loss curve, the final loss over the last steps, and a card that states the
// recipe, the command, the sheet and (when given) the held-out evaluation.
import { baseModelConfig } from '../../../../models/src/builder/config.ts';
import { finalLoss, lossCurve, modelCard } from '../../../../models/src/pretrain/model-card.ts';

describe('model card', () => {
  it('summarises the loss', () => {
    const losses = Array.from({ length: 100 }, (_, i) => (i < 50 ? 1 : 0.5));
    expect(lossCurve(losses, 2)).toEqual([
      { step: 50, loss: 1 },
      { step: 100, loss: 0.5 },
    ]);
    expect(finalLoss(losses, 10)).toBe(0.5);
  });

  it('states recipe, command, samples and evaluation', () => {
    const card = modelCard({
      config: baseModelConfig(68),
      recipe: { seed: 1, batchSize: 16 },
      steps: 10,
      losses: Array.from({ length: 10 }, () => 0.25),
      cpuSeconds: 36,
      prediction: 'epsilon',
      parameterCount: 1234,
      command: 'npm run make-base-model -- --steps 10',
      sheet: { file: 'contact-sheet.png', rows: ['circle'], cols: ['red'] },
      sampling: { steps: 50, guidance: 3, seed: 7 },
      evaluation: {
        heldOut: [
          { colour: 'red', shape: 'triangle', images: 8, colourCorrect: 8, shapeCorrect: 7, bothCorrect: 7 },
        ],
        seen: [
          {
            colour: 'orange',
            shape: 'triangle',
            images: 8,
            colourCorrect: 8,
            shapeCorrect: 8,
            bothCorrect: 8,
          },
        ],
        heldOutAccuracy: 7 / 8,
        seenAccuracy: 1,
      },
    });
    expect(card).toContain('# plateau-world-32');
    expect(card).toContain('npm run make-base-model -- --steps 10');
    expect(card).toContain('**0.2500**');
    expect(card).toContain('![contact sheet](contact-sheet.png)');
    expect(card).toContain('| red triangle (held out) | 8/8 | 7/8 | 7/8 |');
    expect(card).toContain('**87.5%**');
    expect(card).toContain('`prediction_type` epsilon');
    expect(card).not.toContain('Two phases');
  });

  it('explains the switch to v-prediction when the recipe has one', () => {
    const card = modelCard({
      config: baseModelConfig(68),
      recipe: { seed: 1, batchSize: 16, vPredictionFrom: 100, minSnrGamma: 5 },
      steps: 300,
      losses: Array.from({ length: 300 }, () => 0.1),
      cpuSeconds: 36,
      prediction: 'v_prediction',
      parameterCount: 1234,
      command: 'npm run make-base-model -- --steps 300',
      sheet: { file: 'contact-sheet.png', rows: ['circle'], cols: ['red'] },
      sampling: { steps: 50, guidance: 3, seed: 7 },
    });
    expect(card).toContain('`prediction_type` v_prediction');
    expect(card).toContain('steps 1–100 predict ε');
    expect(card).toContain('from step 101 the UNet predicts v');
    expect(card).not.toContain('chosen on the seen pairs');
  });

  it('lists every guidance scale tried when there was a choice', () => {
    const card = modelCard({
      config: baseModelConfig(68),
      recipe: { seed: 1, batchSize: 16 },
      steps: 10,
      losses: [0.1],
      cpuSeconds: 1,
      prediction: 'epsilon',
      parameterCount: 1,
      command: 'x',
      sheet: { file: 'contact-sheet.png', rows: ['circle'], cols: ['red'] },
      sampling: { steps: 50, guidance: 5, seed: 7 },
      guidanceSweep: [
        { guidance: 3, seenAccuracy: 0.5, heldOutAccuracy: 0.25 },
        { guidance: 5, seenAccuracy: 0.625, heldOutAccuracy: 0.5 },
      ],
    });
    expect(card).toContain('chosen on the seen pairs');
    expect(card).toContain('| 5 | 62.5% | 50.0% |');
    expect(card).toContain('guidance 5, seed 7');
  });
});
