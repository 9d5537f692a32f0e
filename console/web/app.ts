// The console page's entry: routes the hash (#/, #/new, #/jobs/<id>) to its view and stops the last view's
// refresh on every change. Bundled with its modules by esbuild when the console starts (static-assets.ts).
import { message } from './dom.ts';
import { jobView } from './job-view.ts';
import { jobsView } from './jobs-view.ts';
import { newJobView } from './new-job-view.ts';

const main = document.getElementById('main') as HTMLElement;
let stopView: () => void = () => {};

function route(): void {
  stopView();
  stopView = () => {};
  const hash = location.hash.replace(/^#/, '') || '/';
  const job = /^\/jobs\/([A-Za-z0-9_-]+)$/.exec(hash);
  document.querySelectorAll('header nav a').forEach((a) => {
    a.classList.toggle('current', a.getAttribute('href') === `#${hash}`);
  });
  if (job?.[1]) stopView = jobView(main, job[1]);
  else if (hash === '/new') {
    newJobView(main).catch((error: unknown) => {
      main.replaceChildren(message('error', error instanceof Error ? error.message : String(error)));
    });
  } else stopView = jobsView(main);
}

window.addEventListener('hashchange', route);
route();
