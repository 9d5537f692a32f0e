/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The benchmark's central shortcut, checked on the real trainer: a DVAR stop replayed over one recorded
// fixed-budget run gives exactly the steps and the token row of an in-process `runPersonalization` with the
// criterion (evalEvery 1 and 4), because evaluation never moves the training trajectory.
import { benchConcepts } from '../../../bench/dvar/concepts.ts';
import { recordFixedBudgetRun } from '../../../bench/dvar/record-run.ts';
import { replayDvar } from '../../../bench/dvar/stop-rules.ts';
import { DvarTracker } from '../../../shared/dvar.ts';
import type { ArtifactStore } from '../../../shared/ports.ts';
import { loadOnnxModel } from '../../../trainer-image/src/train/onnx-model.ts';
import { runPersonalization, TI_DEFAULTS } from '../../../trainer-image/src/train/personalize.ts';
import { fixtureDir } from '../../support/fixtures.ts';

function memoryStore(): ArtifactStore {
  const objects = new Map<string, Uint8Array>();
  return {
    put: async (key, body) => {
      objects.set(key, body);
    },
    get: async (key) => objects.get(key),
    list: async (prefix) => [...objects.keys()].filter((k) => k.startsWith(prefix)),
  };
}

// tiny-sd (random weights, 32×32 pixels in, 16×16 latents): the trainer's numbers, not a concept, are under test.
const model = fixtureDir('tiny-sd');

describe('replaying DVAR over a recorded run', () => {
  it('matches an in-process criterion run step for step and bit for bit', async () => {
    const concept = { ...benchConcepts('held-out', 1, 2026, 3)[0]!, initializer: 'object' };
    const cap = 60;
    const recorded = await recordFixedBudgetRun(concept, {
      pipelineDir: model,
      cap,
      seed: 59,
      learningRate: TI_DEFAULTS.learningRate,
      threads: 1,
    });
    // A short window and a loose threshold, so the criterion fires well inside the cap on this tiny model.
    const params = { window: 8, threshold: 0.9 };

    for (const evalEvery of [1, 4]) {
      const replay = replayDvar(recorded.losses, params, evalEvery, cap);
      expect(replay.criterionStep).not.toBeNull();
      expect(replay.steps).toBeLessThan(cap);
      const live = await runPersonalization(
        {
          ...TI_DEFAULTS,
          token: concept.token,
          initializerToken: concept.initializer,
          seed: 59,
          maxSteps: cap,
          evalEvery,
          checkpointEvery: 1000,
          flushEvery: 10,
        },
        {
          pipelineDir: model,
          images: concept.images,
          loadModel: (request) => loadOnnxModel(request, { device: 'cpu', intraOpThreads: 1 }),
          openSink: async () => ({ write: async () => {}, flush: async () => {} }),
          stopSignal: { check: async () => ({ stop: false }) },
          store: memoryStore(),
          resume: false,
          criterion: () =>
            new DvarTracker({ window: Math.round(params.window / evalEvery), threshold: params.threshold }),
        },
      );
      expect(live.stopReason).toBe('criterion');
      expect(live.criterionStep).toBe(replay.criterionStep);
      expect(live.steps).toBe(replay.steps);
      expect(Array.from(live.rows)).toEqual(Array.from(recorded.paramsAt(replay.steps)));
    }
  }, 120_000);
});
