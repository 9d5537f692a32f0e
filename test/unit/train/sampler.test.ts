// DDIM pieces of the validation sampler: diffusers' timestep spacing with steps_offset, the final ᾱ, and one
// step recovering x_prev exactly from the true ε (or v), with and without clip_sample.

import { CUSTOM_DIFFUSION_DEFAULTS } from '../../../shared/methods.ts';
import { methodFor } from '../../../trainer-image/src/train/methods/index.ts';
import {
  ddimStep,
  ddimTimesteps,
  parseDdimSchedule,
  toRgb,
  validationPrompts,
} from '../../../trainer-image/src/train/sampler.ts';

const config = {
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
  steps_offset: 1,
  set_alpha_to_one: false,
};

test('timesteps are leading-spaced, descending, offset by steps_offset', () => {
  const schedule = parseDdimSchedule(config);
  expect(ddimTimesteps(schedule, 4)).toEqual([751, 501, 251, 1]);
  expect(ddimTimesteps(parseDdimSchedule({ ...config, steps_offset: 0 }), 5)).toEqual([
    800, 600, 400, 200, 0,
  ]);
  expect(() => ddimTimesteps(schedule, 0)).toThrow(/sampling steps/);
  expect(schedule.finalAlphaCumprod).toBe(schedule.alphasCumprod[0]);
  expect(parseDdimSchedule({ ...config, set_alpha_to_one: true }).finalAlphaCumprod).toBe(1);
});

test.each(['epsilon', 'v_prediction'])(
  'a step with the true %s output lands on the clean trajectory',
  (type) => {
    const schedule = parseDdimSchedule({ ...config, prediction_type: type });
    const x0 = Float32Array.from([0.3, -0.7, 0.05]);
    const eps = Float32Array.from([1.2, -0.4, 0.9]);
    const t = 501;
    const prev = 251;
    const ab = schedule.alphasCumprod[t]!;
    const abPrev = schedule.alphasCumprod[prev]!;
    const x = x0.map((v, i) => Math.sqrt(ab) * v + Math.sqrt(1 - ab) * eps[i]!);
    const out = type === 'epsilon' ? eps : x0.map((v, i) => Math.sqrt(ab) * eps[i]! - Math.sqrt(1 - ab) * v);
    ddimStep(schedule, x, out, t, prev);
    for (const [i, v] of x.entries()) {
      expect(v).toBeCloseTo(Math.sqrt(abPrev) * x0[i]! + Math.sqrt(1 - abPrev) * eps[i]!, 5);
    }
  },
);

test('clip_sample clips the x0 estimate and re-derives ε; the last step returns x0', () => {
  const schedule = parseDdimSchedule({ ...config, clip_sample: true, set_alpha_to_one: true });
  const x = Float32Array.from([5]);
  ddimStep(schedule, x, Float32Array.from([0]), 1, -1);
  expect(x[0]).toBeCloseTo(1, 6);
});

test('prompts carry the token; images map [-1, 1] to 0..255', () => {
  expect(validationPrompts('<cat>', 'object').every((p) => p.includes('<cat>'))).toBe(true);
  expect(validationPrompts('<ink>', 'style')[0]).toBe('a painting in the style of <ink>');
  const rgb = toRgb(Float32Array.from([-1, 0, 1, 2]), 1, 2, 2);
  expect([...rgb.data]).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255, 255, 255, 255]);
});

test('Custom Diffusion’s samples name the concept as it trains: "<token> <class word>"', () => {
  const cd = methodFor({ name: 'custom-diffusion', ...CUSTOM_DIFFUSION_DEFAULTS, classWord: 'cat' });
  const subject = cd.promptSubject?.('<x>');
  expect(subject).toBe('<x> cat');
  expect(cd.caption?.('<x>')).toBe('a photo of a <x> cat');
  expect(validationPrompts(subject!, 'object')[0]).toBe('a photo of a <x> cat');
  expect(methodFor({ name: 'textual-inversion' }).promptSubject).toBeUndefined();
});
