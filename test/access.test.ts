import { test } from 'tap'
import { createOriginPolicy, defaultOrigins, originPolicyFromSetting } from '../src/access/origin.js'
import { parseNetworks } from '../src/access/networks.js'
import { clientAddress, hasForwardingHeaders } from '../src/access/client-address.js'
import { loadConfig } from '../src/config/load.js'

test('origin check: hosts, origins with scheme or port, bare backend origins', async (t) => {
  const policy = createOriginPolicy(defaultOrigins('shop.example.com'))
  const cases: Array<[string | undefined, boolean]> = [
    ['http://localhost', true], ['http://localhost:8080', true], ['https://127.0.0.1', true],
    ['127.0.0.1', true], // Oro's PHP backend sends it bare
    ['https://shop.example.com', true], ['http://SHOP.example.com:81', true],
    ['https://evil.example.com', false], ['https://shop.example.com.evil.net', false],
    [undefined, false], ['', false], ['null', false], ['file://', false]
  ]
  for (const [origin, allowed] of cases) t.equal(policy.allows(origin), allowed, String(origin))
  t.same(defaultOrigins('*'), ['localhost', '127.0.0.1'])

  const strict = createOriginPolicy(['https://admin.example.com:8443', 'shop.example.com', '[::1]'])
  t.ok(strict.allows('https://admin.example.com:8443'))
  t.notOk(strict.allows('http://admin.example.com:8443'), 'the scheme must match when the entry has one')
  t.notOk(strict.allows('https://admin.example.com'), 'the port must match when the entry has one')
  t.ok(strict.allows('http://[::1]:8080'))
  t.ok(createOriginPolicy(['*']).allows(undefined), '* allows anything, even no Origin')
  t.throws(() => createOriginPolicy(['https://x/y/z']), /not a host or origin/)
})

test('CIDR lists', async (t) => {
  const loopback = parseNetworks('127.0.0.0/8,::1/128')
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) t.ok(loopback.has(a), a)
  for (const a of ['10.0.0.1', '::2', 'not-an-ip', undefined]) t.notOk(loopback.has(a), String(a))
  t.ok(parseNetworks('10.0.5.7').has('10.0.5.7'), 'a single address')
  t.throws(() => parseNetworks('10.0.0.0/33'), /prefix length/)
  t.throws(() => parseNetworks('example.com'), /not an address/)
  t.throws(() => loadConfig({ env: { ORO_WEBSOCKET_BACKEND_NETWORKS: '10.0.0.0/40' }, cwd: process.cwd() }), { code: 'GW_ERR_CONFIG_INVALID', message: /^ORO_WEBSOCKET_BACKEND_NETWORKS/ })
  t.throws(() => loadConfig({ env: { ORO_WEBSOCKET_ALLOWED_ORIGINS: 'a b' }, cwd: process.cwd() }), { message: /^ORO_WEBSOCKET_ALLOWED_ORIGINS/ })
})

test('client address from forwarding headers only behind a trusted proxy', async (t) => {
  const trusted = parseNetworks('127.0.0.0/8')
  t.equal(clientAddress('127.0.0.1', { 'x-forwarded-for': '203.0.113.9, 127.0.0.1' }, trusted), '203.0.113.9')
  t.equal(clientAddress('127.0.0.1', { 'x-real-ip': '203.0.113.10' }, trusted), '203.0.113.10')
  t.equal(clientAddress('127.0.0.1', { forwarded: 'for="[2001:db8::1]";proto=https' }, trusted), '2001:db8::1')
  t.equal(clientAddress('198.51.100.1', { 'x-forwarded-for': '203.0.113.9' }, trusted), '198.51.100.1', 'an untrusted peer cannot claim another address')
  t.equal(clientAddress('::ffff:127.0.0.1', {}, trusted), '127.0.0.1')
  // Forged header text never becomes an "address" (it would reach logs and per-network limits).
  t.equal(clientAddress('127.0.0.1', { 'x-forwarded-for': `${'x'.repeat(5000)}, 203.0.113.9` }, trusted), '203.0.113.9')
  t.equal(clientAddress('127.0.0.1', { 'x-forwarded-for': 'not-an-ip' }, trusted), '127.0.0.1')
  t.equal(clientAddress('127.0.0.1', { 'x-real-ip': 'x'.repeat(5000) }, trusted), '127.0.0.1')
  t.equal(clientAddress('127.0.0.1', { 'x-forwarded-for': '203.0.113.9:5678' }, trusted), '203.0.113.9', 'a port is dropped')
  t.equal(clientAddress('127.0.0.1', { forwarded: 'for="[2001:db8::1]:443"' }, trusted), '2001:db8::1')
  t.equal(clientAddress('127.0.0.1', { forwarded: 'for=unknown' }, trusted), '127.0.0.1')
  t.ok(hasForwardingHeaders({ 'x-real-ip': '1.2.3.4' }))
  for (const name of ['x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded', 'via', 'x-nginx-proxy', 'true-client-ip']) {
    t.ok(hasForwardingHeaders({ [name]: 'x' }), `${name} alone means proxied`)
  }
  t.notOk(hasForwardingHeaders({ origin: '127.0.0.1', host: '127.0.0.1:8080', 'x-forwarded-for': undefined }))
})

test('ORO_WEBSOCKET_ALLOWED_ORIGINS: unset or "+..." adds Oro\'s configuration to the defaults; otherwise replaces', async (t) => {
  const unset = originPolicyFromSetting(undefined, 'ws.example.com')
  t.ok(unset.extendable)
  t.notOk(unset.allows('https://shop.example.com'))
  unset.setDatabaseHosts(['shop.example.com', 'localhost'])
  t.ok(unset.allows('https://shop.example.com'))
  t.same(unset.entries, ['localhost', '127.0.0.1', 'ws.example.com', 'shop.example.com'], 'each host once')
  unset.setDatabaseHosts([])
  t.notOk(unset.allows('https://shop.example.com'), 'a URL removed from the configuration is no longer allowed')

  const plus = originPolicyFromSetting('+extra.example.com, +https://other.example.com:9443', '*')
  plus.setDatabaseHosts(['shop.example.com'])
  for (const origin of ['http://localhost', 'https://extra.example.com', 'https://other.example.com:9443', 'https://shop.example.com']) t.ok(plus.allows(origin), origin)
  t.notOk(plus.allows('https://other.example.com'))

  const fixed = originPolicyFromSetting('only.example.com', 'ws.example.com')
  t.notOk(fixed.extendable)
  fixed.setDatabaseHosts(['shop.example.com'])
  t.notOk(fixed.allows('https://shop.example.com'), 'a full list is not extended')
  t.ok(fixed.allows('http://localhost'), 'localhost and 127.0.0.1 stay allowed, as on Oro\'s server')
  t.notOk(fixed.allows('https://ws.example.com'), 'the FRONTEND DSN host is not added to a replaced list')
  t.throws(() => originPolicyFromSetting('+a b', '*'), /not a host or origin/)
})
