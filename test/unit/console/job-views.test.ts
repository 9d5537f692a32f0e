// The savings sentence the job page shows, from report.json: steps always, money only when GPU time is priced.
import { savingsLine } from '../../../console/job-views.ts';
import type { Report } from '../../../shared/report.ts';

const base = {
  steps: 499,
  maxSteps: 6100,
  criterionStep: 461,
  lastStep: 498,
  stopLatencySteps: 37,
  cost: { gpuHourPriceUsd: 0, estimatedUsd: 0, fullBudgetUsd: 0, savedFraction: 0 },
};
const report = (fields: Partial<Report>) => ({ ...base, stopReason: 'criterion', ...fields }) as Report;

test('a DVAR stop names the criterion step, the stop, the latency and the budget saved', () => {
  expect(savingsLine(report({}))).toBe(
    'DVAR held at step 461 and training stopped at step 498 (37 steps later): 499 of 6100 steps, 92% of the fixed budget saved.',
  );
  expect(savingsLine(report({ stopLatencySteps: 1 }))).toContain('(1 step later)');
});

test('a priced run adds the money; other endings say what happened', () => {
  const cost = { gpuHourPriceUsd: 1, estimatedUsd: 0.1, fullBudgetUsd: 1.22, savedFraction: 0.92 };
  expect(savingsLine(report({ cost }))).toMatch(/saved — \$0\.10 instead of \$1\.22\.$/);
  expect(savingsLine(report({ stopReason: 'max-steps' }))).toBe(
    'DVAR never held: trained the whole budget of 6100 steps.',
  );
  expect(savingsLine(report({ stopReason: 'cancelled' }))).toBe('Cancelled after 499 of 6100 steps.');
});
