// The job list: every job in the bucket with its status, step, DVAR ratio against the threshold and the budget
// saved, refreshed every two seconds.
import type { JobRow } from '../api-types.ts';
import { api, fmt, h, pill, poll, ratioBar } from './dom.ts';

/** Draws the list into `main`; returns the function that stops its refresh. */
export function jobsView(main: HTMLElement): () => void {
  const body = h('tbody');
  const empty = h(
    'div',
    { class: 'empty' },
    h('p', {}, 'No jobs yet. Upload a few photos of a concept and watch DVAR decide when it is learned.'),
    h('a', { class: 'button primary', href: '#/new' }, 'New job'),
  );
  const table = h(
    'table',
    { class: 'jobs' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Job', 'Status', 'Step', 'DVAR ratio', 'Budget saved', 'Created'].map((t) => h('th', {}, t)),
      ),
    ),
    body,
  );
  document.title = 'Jobs — plateau';
  main.replaceChildren(h('section', { class: 'card' }, h('h1', {}, 'Jobs'), table, empty));
  return poll(2000, async () => {
    const { jobs } = await api<{ jobs: JobRow[] }>('jobs');
    empty.hidden = jobs.length > 0;
    table.hidden = jobs.length === 0;
    body.replaceChildren(
      ...jobs.map((job) => {
        const s = job.summary;
        const link = h(
          'a',
          { href: `#/jobs/${job.jobId}` },
          h('strong', {}, job.token ?? job.jobId),
          h('span', { class: 'muted id' }, job.method ? `${job.jobId} · ${job.method}` : job.jobId),
        );
        const step =
          s?.queuePosition !== undefined
            ? `#${s.queuePosition} in queue`
            : s?.step === undefined
              ? '—'
              : `${s.step}${job.maxSteps ? ` / ${job.maxSteps}` : ''}`;
        return h(
          'tr',
          { 'data-job': job.jobId },
          h('td', {}, link),
          h('td', {}, pill(job.status)),
          h('td', { class: 'num' }, step),
          h('td', {}, ratioBar(s?.ratio, s?.threshold)),
          h('td', { class: 'num' }, fmt.percent(job.budgetSaved)),
          h('td', { class: 'muted' }, fmt.ago(job.createdAt)),
        );
      }),
    );
    return true;
  });
}
