// The listeners' TLS settings in Oro's DSN syntax: what turns TLS on, which context options a
// listener takes and what each means, and a bad certificate stopping the start with one line per
// problem naming the option (the passphrase never shown). Also who may publish through a proxy.
import { test } from 'tap'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../src/config/load.js'
import { configErrorLines } from '../src/config/errors.js'
import { renderConfig } from '../src/cli/config-command.js'
import { mayPublish } from '../src/access/backend-publisher.js'
import { parseNetworks } from '../src/access/networks.js'
import { makeCertificates, opensslBinary, PASSPHRASE, q } from './helpers/certificates.js'
import { serviceOptions } from './helpers/services.js'
import { startGateway } from './helpers/spawn-gateway.js'

const needsOpenssl = serviceOptions(opensslBinary !== undefined, 'openssl', 'apt-get install openssl')

function problems (env: Record<string, string>, cwd = process.cwd()): string[] {
  try {
    loadConfig({ env, cwd })
  } catch (err) {
    const lines = configErrorLines(err)
    if (lines === undefined) throw err
    return lines
  }
  return []
}

test('mayPublish: direct from a backend network, or through a trusted proxy for one', async (t) => {
  const access = { backendNetworks: parseNetworks('127.0.0.1/32,10.0.5.0/24'), trustedProxies: parseNetworks('127.0.0.1/32') }
  t.ok(mayPublish('127.0.0.1', {}, access), 'direct from loopback')
  t.ok(mayPublish('::ffff:10.0.5.7', {}, access), 'direct from the backend network (dual-stack form)')
  t.notOk(mayPublish('203.0.113.9', {}, access), 'direct from elsewhere')
  // nginx on this host for a backend on this host: X-Forwarded-For and X-Real-IP are 127.0.0.1.
  const viaNginx = { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1', 'x-nginx-proxy': 'true', 'x-forwarded-proto': 'https' }
  t.ok(mayPublish('127.0.0.1', viaNginx, access), 'through the trusted nginx for a backend address')
  t.ok(mayPublish('127.0.0.1', { 'x-forwarded-for': '10.0.5.7', 'x-real-ip': '10.0.5.7' }, access), 'through nginx for a backend on the backend network')
  t.notOk(mayPublish('127.0.0.1', { 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '203.0.113.9' }, access), 'a browser through the same nginx')
  t.notOk(mayPublish('127.0.0.1', { 'x-forwarded-for': '127.0.0.1, 203.0.113.9', 'x-real-ip': '203.0.113.9' }, access), 'a browser that forged X-Forwarded-For: 127.0.0.1 (nginx appends its real address)')
  t.notOk(mayPublish('10.0.5.7', viaNginx, access), 'forwarding headers from a peer that is not a trusted proxy')
  t.notOk(mayPublish('127.0.0.1', { 'x-nginx-proxy': 'true' }, access), 'a proxy that forwards no client address')
  t.notOk(mayPublish('127.0.0.1', { 'x-forwarded-for': 'unknown, 127.0.0.1' }, access), 'a forwarded value that is not an address')
  t.ok(mayPublish('127.0.0.1', { forwarded: 'for="[::1]:5555";proto=https' }, { ...access, backendNetworks: parseNetworks('::1/128') }), 'Forwarded: for= (IPv6, with a port)')
  t.notOk(mayPublish('127.0.0.1', { forwarded: 'for=127.0.0.1, for=198.51.100.1' }, access), 'Forwarded with a hop outside the backend networks')
})

test('SERVER DSN: local_cert turns TLS on (tcp or ssl scheme), the files are read and checked', needsOpenssl, async (t) => {
  const c = makeCertificates()
  const plain = loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:8443' }, cwd: process.cwd() })
  t.equal(plain.gateway.server.tls, null, 'no context options: plain TCP, as Oro')
  for (const dsn of [
    `//127.0.0.1:8443?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.encryptedKey}&context_options[passphrase]=${q(PASSPHRASE)}`,
    `ssl://127.0.0.1:8443?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}&context_options[verify_peer]=false&context_options[verify_peer_name]=false`,
    `tls://127.0.0.1:8443?context_options%5Blocal_cert%5D=${c.server.cert}&context_options%5Blocal_pk%5D=${c.server.key}`
  ]) {
    const loaded = loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: dsn }, cwd: process.cwd() })
    const tls = loaded.gateway.server.tls
    t.ok(tls?.server?.cert, `TLS with its certificate read: ${dsn.split('?')[0] ?? ''}`)
    t.equal(tls?.server?.requestCert, false, 'no client certificates asked for')
    t.match(tls?.server?.certificate.subject, /CN=localhost/)
  }
  // PHP: local_cert may hold the key too.
  const both = join(c.dir, 'both.pem')
  writeFileSync(both, Buffer.concat([readFileSync(c.server.cert), Buffer.from('\n'), readFileSync(c.server.key)]))
  t.ok(loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:8443?context_options[local_cert]=${both}` }, cwd: process.cwd() }).gateway.server.tls?.server, 'a local_cert file holding the key too, without local_pk')

  const clients = loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:8443?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}&context_options[verify_peer]=true&context_options[cafile]=${c.ca}` }, cwd: process.cwd() })
  t.equal(clients.gateway.server.tls?.server?.requestCert, true, 'verify_peer=true on a listener asks clients for a certificate')
  t.equal(clients.gateway.server.tls?.server?.rejectUnauthorized, true, '... and refuses the handshake without one the CA signed')
  const capathDir = join(c.dir, 'capath')
  mkdirSync(capathDir)
  copyFileSync(c.ca, join(capathDir, 'ca.pem'))
  t.equal(loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:8443?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}&context_options[verify_peer]=1&context_options[capath]=${capathDir}` }, cwd: process.cwd() }).gateway.server.tls?.server?.ca?.length, 1, 'capath: the certificates in the directory')

  // Relative paths in .env-app* are relative to the application's root.
  const appRoot = join(c.dir, 'app')
  mkdirSync(join(appRoot, 'tls'), { recursive: true })
  copyFileSync(c.server.cert, join(appRoot, 'tls', 'ws.crt'))
  copyFileSync(c.server.key, join(appRoot, 'tls', 'ws.key'))
  writeFileSync(join(appRoot, '.env-app.local'), 'ORO_WEBSOCKET_SERVER_DSN="//127.0.0.1:8443?context_options[local_cert]=tls/ws.crt&context_options[local_pk]=tls/ws.key"\n')
  const fromApp = loadConfig({ env: {}, cwd: process.cwd(), appRoot })
  t.equal(fromApp.gateway.server.tls?.server?.files.cert, join(appRoot, 'tls', 'ws.crt'), 'a relative path in .env-app.local is read from the app root')

  const publish = loadConfig({ env: { ORO_WEBSOCKET_PUBLISH_LISTEN: `127.0.0.1:8444?context_options[local_cert]=${c.selfSigned.cert}&context_options[local_pk]=${c.selfSigned.key}` }, cwd: process.cwd() })
  t.equal(publish.gateway.publish.listen?.port, 8444)
  t.ok(publish.gateway.publish.listen?.tls?.server, 'the publish listener has its own certificate')
  t.equal(publish.gateway.server.tls, null, '... while the WebSocket listener stays plain')
  t.match(renderConfig(publish, false), /publish API: {4}https:\/\/127\.0\.0\.1:8444\/publish/, 'config shows https for it')
})

test('a bad TLS setting: one line each, naming the option and what to change; the passphrase never shown', needsOpenssl, async (t) => {
  const c = makeCertificates()
  const server = (query: string): Record<string, string> => ({ ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:8443?${query}` })
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['missing certificate file', server(`context_options[local_cert]=${c.dir}/nope.crt&context_options[local_pk]=${c.server.key}`), /ORO_WEBSOCKET_SERVER_DSN context_options\[local_cert\] = ".*nope\.crt" cannot be read \(ENOENT\)/],
    ['missing key file', server(`context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.dir}/nope.key`), /context_options\[local_pk\] = ".*nope\.key" cannot be read \(ENOENT\)/],
    ['wrong passphrase', server(`context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.encryptedKey}&context_options[passphrase]=wrong-one`), /context_options\[passphrase\] does not decrypt the key in ".*server\.enc\.key"/],
    ['no passphrase for an encrypted key', server(`context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.encryptedKey}`), /context_options\[local_pk\] = ".*server\.enc\.key" is encrypted and no context_options\[passphrase\] is given/],
    ['key of another certificate', server(`context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.selfSigned.key}`), /context_options\[local_pk\] = ".*self\.key" is not the private key of the certificate in ".*server\.crt"/],
    ['a key given as the certificate', server(`context_options[local_cert]=${c.server.key}`), /context_options\[local_cert\] = ".*server\.key" holds no PEM certificate/],
    ['no key in local_cert and no local_pk', server(`context_options[local_cert]=${c.server.cert}`), /context_options\[local_cert\] = ".*server\.crt" holds no PEM private key \(without local_pk the key must be in the local_cert file\)/],
    ['ssl:// without a certificate', { ORO_WEBSOCKET_SERVER_DSN: 'ssl://127.0.0.1:8443' }, /ORO_WEBSOCKET_SERVER_DSN has scheme ssl:\/\/ but no context_options\[local_cert\]/],
    ['an option a listener does not use', server(`context_options[local_cert]=${c.server.cert}&context_options[peer_name]=x`), /has context_options\[peer_name\], which a listener does not use; it understands local_cert, local_pk/],
    ['cafile without verify_peer', server(`context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}&context_options[cafile]=${c.ca}`), /context_options\[cafile\] without context_options\[verify_peer\]=true: on a listener the CA only checks client certificates/],
    ['verify_peer without a CA', server(`context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}&context_options[verify_peer]=true`), /verify_peer\]=true \(client certificates\) without context_options\[cafile\] or \[capath\]/],
    ['a flag that is not true or false', server(`context_options[local_cert]=${c.server.cert}&context_options[verify_peer]=maybe`), /context_options\[verify_peer\]=maybe, which is not true or false/],
    ['a CA file without a certificate', server(`context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}&context_options[verify_peer]=true&context_options[cafile]=${c.caKey}`), /context_options\[cafile\] = ".*ca\.key" holds no PEM certificate/],
    ['context options without local_cert', server(`context_options[local_pk]=${c.server.key}`), /has context options \(local_pk\) but no context_options\[local_cert\]/],
    ['the publish listener\'s own certificate', { ORO_WEBSOCKET_PUBLISH_LISTEN: `127.0.0.1:8444?context_options[local_cert]=${c.dir}/gone.crt` }, /ORO_WEBSOCKET_PUBLISH_LISTEN context_options\[local_cert\] = ".*gone\.crt" cannot be read/]
  ]
  for (const [name, env, expected] of cases) {
    const lines = problems(env)
    t.equal(lines.length, 1, `${name}: one line`)
    t.match(lines[0], /^GW_ERR_CONFIG_INVALID: invalid configuration: /, name)
    t.match(lines[0], expected, name)
    t.match(lines[0], /; for example /, `${name}: says what a right value looks like`)
  }

  // Several problems at once, with another setting's, in one round.
  const many = problems({ ...server(`context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.encryptedKey}&context_options[passphrase]=${q('s3cret&wrong')}`), ORO_WEBSOCKET_PUBLISH_LISTEN: `127.0.0.1:8444?context_options[local_cert]=${c.dir}/gone.crt`, ORO_WEBSOCKET_PING_INTERVAL: 'x' })
  t.equal(many.length, 3, 'every problem reported together')
  t.notMatch(many.join('\n'), /s3cret/, 'the passphrase is in no error line')

  // A DSN error quotes the value: with the passphrase masked.
  const quoted = problems({ ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:notaport?context_options[local_cert]=/x&context_options[passphrase]=${q('s3cret')}` })
  t.match(quoted[0], /context_options\[passphrase\]=\*\*\*/, 'a quoted DSN has its passphrase masked')
  t.notMatch(quoted.join('\n'), /s3cret/)
  const shown = renderConfig(loadConfig({ env: server(`context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.encryptedKey}&context_options[passphrase]=${q(PASSPHRASE)}`), cwd: process.cwd() }), true)
  t.notOk(shown.includes(q(PASSPHRASE)) || shown.includes(PASSPHRASE), '`config` does not show the passphrase')
  t.match(shown, /context_options\[passphrase\]=\*\*\*/, '`config` shows it masked')
})

test('serve with a key that does not decrypt: exit 1 before listening, one line naming the option', needsOpenssl, async (t) => {
  const c = makeCertificates()
  const gw = await startGateway({
    args: ['--env=dev'],
    env: { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:8443?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.encryptedKey}&context_options[passphrase]=wrong`, ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml' },
    waitFor: 'exit'
  }, t)
  const exit = await gw.exited
  t.equal(exit.code, 1, 'exit code 1')
  const lines = gw.stderr().trim().split('\n')
  t.equal(lines.length, 1, 'one line on stderr')
  t.match(lines[0], /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_WEBSOCKET_SERVER_DSN context_options\[passphrase\] does not decrypt the key/)
})
