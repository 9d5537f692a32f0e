// Webhooks reach public addresses only: private, loopback, link-local (the metadata service), CGNAT,
// multicast and IPv6 local ranges are refused, IPv4-mapped IPv6 included.
import { isPublicAddress } from '../../../../functions/finalize/public-address.ts';

test.each([
  ['8.8.8.8', true],
  ['1.1.1.1', true],
  ['2606:4700:4700::1111', true],
  ['10.1.2.3', false],
  ['172.16.0.1', false],
  ['172.31.255.255', false],
  ['192.168.1.1', false],
  ['127.0.0.1', false],
  ['169.254.169.254', false],
  ['100.64.0.1', false],
  ['0.0.0.0', false],
  ['224.0.0.1', false],
  ['::1', false],
  ['::', false],
  ['fd00::1', false],
  ['fe80::1', false],
  ['::ffff:127.0.0.1', false],
  ['::ffff:8.8.8.8', true],
  ['not-an-ip', false],
])('%s → %s', (address, expected) => {
  expect(isPublicAddress(address)).toBe(expected);
});
