// The guidance a model's model_index.json asks its samples to be drawn at: a sensible number, or nothing.
import { SAMPLE_GUIDANCE_KEY, sampleGuidanceOf } from '../../../shared/model-index.ts';
import { modelSampleGuidance, SD_GUIDANCE } from '../../../trainer-image/src/train/sampler.ts';
import { fixtureDir } from '../../support/fixtures.ts';

test('reads a positive finite scale up to 100; anything else is no request', () => {
  expect(sampleGuidanceOf({ [SAMPLE_GUIDANCE_KEY]: 3 })).toBe(3);
  for (const bad of [0, -1, 101, Number.NaN, '3', null]) {
    expect(sampleGuidanceOf({ [SAMPLE_GUIDANCE_KEY]: bad })).toBeUndefined();
  }
  expect(sampleGuidanceOf({})).toBeUndefined();
  expect(sampleGuidanceOf(null)).toBeUndefined();
  expect(sampleGuidanceOf([3])).toBeUndefined();
});

test('the embedded model asks for 3; an export without the key gets SD’s 7.5', () => {
  expect(modelSampleGuidance('models/plateau-world-32')).toBe(3);
  expect(modelSampleGuidance(fixtureDir('tiny-sd'))).toBe(SD_GUIDANCE);
  expect(SD_GUIDANCE).toBe(7.5);
});
