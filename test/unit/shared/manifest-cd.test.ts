// The manifest's customDiffusion section: the random rescale is on unless the job turns it off, takes booleans
// only, and the prior loss weight is carried through as given.
import { JobManifest } from '../../../shared/manifest.ts';

const parse = (customDiffusion?: unknown) =>
  JobManifest.safeParse({
    method: 'custom-diffusion',
    token: '<x>',
    ...(customDiffusion === undefined ? {} : { customDiffusion }),
  });

test('random rescale: on by default, off when the job says so', () => {
  const d = parse();
  expect(d.success && d.data.method === 'custom-diffusion' && d.data.customDiffusion.randomRescale).toBe(
    true,
  );
  const off = parse({ randomRescale: false, priorLossWeight: 0.5 });
  expect(off.success && off.data.method === 'custom-diffusion' && off.data.customDiffusion).toMatchObject({
    randomRescale: false,
    priorLossWeight: 0.5,
    priorPreservation: true,
  });
});

test('refuses a non-boolean switch and misspelt keys', () => {
  const bad = parse({ randomRescale: 'yes' });
  expect(bad.success).toBe(false);
  expect(bad.error?.issues[0]?.path).toEqual(['customDiffusion', 'randomRescale']);
  expect(parse({ random_rescale: false }).success).toBe(false);
});
