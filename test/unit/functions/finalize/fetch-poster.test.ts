// The webhook poster refuses hosts that are, or resolve to, non-public addresses before connecting.
import { fetchPoster } from '../../../../functions/finalize/fetch-poster.ts';

test('refuses an address literal and a name that resolves to loopback', async () => {
  const poster = fetchPoster(2000);
  await expect(poster.post('https://127.0.0.1:9/hook', '{}', {})).rejects.toThrow(/not a public address/);
  await expect(poster.post('https://[::1]:9/hook', '{}', {})).rejects.toThrow(/not a public address/);
  await expect(poster.post('https://localhost:9/hook', '{}', {})).rejects.toThrow(
    /localhost resolves to a non-public address/,
  );
});
