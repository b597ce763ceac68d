// The gateway serving wss:// and https:// itself (no proxy), from the SERVER DSN's context
// options: what Oro's PHP backend does over ssl:// (both forms of Oro's documents: the CA in
// cafile, and verify_peer=false for an untrusted certificate), a subscriber over wss://, the
// publish listener with its own certificate, client certificates, and SIGHUP swapping the
// certificate while sessions stay open.
import { test } from 'tap'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { backendHandshake, type HandshakeOutcome } from '../src/check/backend-client.js'
import { parseDsn } from '../src/config/dsn.js'
import { fingerprint, makeCertificates, opensslBinary, PASSPHRASE, q, type TestCertificates } from './helpers/certificates.js'
import { httpsReady, httpsRequest, waitForLog } from './helpers/tls-clients.js'
import { serviceOptions } from './helpers/services.js'
import { freePort, startGateway, type Gateway } from './helpers/spawn-gateway.js'
import { connectWamp, type WampClient } from './helpers/wamp-client.js'

const needsOpenssl = serviceOptions(opensslBinary !== undefined, 'openssl', 'apt-get install openssl')
const TOPIC = 'oro/data/update'

interface Teardown { teardown (fn: () => unknown): void }

async function tlsGateway (t: Teardown, query: string, ca: Buffer, env: Record<string, string> = {}): Promise<Gateway> {
  const port = await freePort()
  return startGateway({
    args: ['--env=dev'],
    env: { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}?${query}`, ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml', ...env },
    scheme: 'https',
    ready: httpsReady(ca),
    timeoutMs: 30_000
  }, t)
}

async function welcomed (outcome: Promise<HandshakeOutcome>): Promise<Extract<HandshakeOutcome, { kind: 'welcome' }>> {
  const result = await outcome
  if (result.kind !== 'welcome') throw new Error(`no WELCOME: ${JSON.stringify(result)}`)
  return result
}

function peerFingerprint (client: WampClient): string {
  return ((client.ws as unknown as { _socket: TLSSocket })._socket).getPeerCertificate().fingerprint256
}

test('wss:// and https:// on the SERVER DSN\'s listener; Oro\'s PHP client over ssl:// publishes to a wss:// subscriber', needsOpenssl, async (t) => {
  const c: TestCertificates = makeCertificates()
  const ca = readFileSync(c.ca)
  const self = readFileSync(c.selfSigned.cert)
  const publishPort = await freePort()
  const gw = await tlsGateway(t, `context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.encryptedKey}&context_options[passphrase]=${q(PASSPHRASE)}`, ca, {
    ORO_WEBSOCKET_PUBLISH_LISTEN: `127.0.0.1:${publishPort}?context_options[local_cert]=${c.selfSigned.cert}&context_options[local_pk]=${c.selfSigned.key}`,
    ORO_WEBSOCKET_PUBLISH_KEYS: 'k'
  })
  const health = await httpsRequest(`https://localhost:${gw.port}/healthz`, { ca })
  t.equal(health.status, 200, 'GET /healthz over https, trusting the test CA')
  t.equal(health.peer.fingerprint256, fingerprint(c.server.cert), 'the certificate of the SERVER DSN')
  await t.rejects(httpsRequest(`https://localhost:${gw.port}/healthz`), 'without the CA the certificate is refused (so it is really checked)')
  const plain = await fetch(`http://127.0.0.1:${gw.port}/healthz`).then((r) => r.status, (err: Error) => err.message)
  t.not(plain, 200, 'plain HTTP is not served on a TLS listener')
  const upgrade = await httpsRequest(`https://localhost:${gw.port}/ws`, { ca })
  t.equal(upgrade.status, 426)
  t.match(upgrade.body, /wss:\/\/<host>:\d+\/ws/, 'the 426 names wss://')

  const subscriber = await connectWamp(`wss://localhost:${gw.port}/ws?ticket=x`, { tls: { ca } })
  t.teardown(() => subscriber.close())
  subscriber.subscribe(TOPIC)
  await subscriber.sync()

  // Oro's documents: ssl://*:443/ws with the CA trusted (here as cafile), and the untrusted form.
  const trusted = await welcomed(backendHandshake(parseDsn(`ssl://localhost:${gw.port}/ws?context_options[cafile]=${c.ca}`), 'x', 5000))
  t.teardown(() => trusted.socket.destroy())
  t.pass('ssl:// with the CA: 101 and WELCOME in the first read')
  trusted.publish([7, TOPIC, [{ username: null, tagname: 'Tag_tls' }], [], []])
  t.same(await subscriber.waitForEvents(1, TOPIC), [[{ username: null, tagname: 'Tag_tls' }]], 'the backend\'s publish over TLS reached the wss:// subscriber')

  const refused = await backendHandshake(parseDsn(`ssl://localhost:${gw.port}/ws`), 'x', 5000)
  t.equal(refused.kind, 'error', 'ssl:// without the CA is refused by the client (certificate checked)')

  const seedForm = await welcomed(backendHandshake(parseDsn(`ssl://127.0.0.1:${gw.port}/ws?context_options[verify_peer]=false&context_options[verify_peer_name]=false`), 'x', 5000))
  t.teardown(() => seedForm.socket.destroy())
  seedForm.publish([7, TOPIC, [{ username: null, tagname: 'Tag_seed' }], [], []])
  t.same((await subscriber.waitForEvents(2, TOPIC))[1], [{ username: null, tagname: 'Tag_seed' }], 'the seed\'s verify_peer=false form publishes too')

  // The publish listener, with its own (self-signed) certificate.
  const posted = await httpsRequest(`https://localhost:${publishPort}/publish`, {
    ca: self, method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body: JSON.stringify({ topic: TOPIC, data: [{ username: null, tagname: 'Tag_http' }] })
  })
  t.equal(posted.status, 202, 'POST /publish over https on the publish listener')
  t.equal(posted.peer.fingerprint256, fingerprint(c.selfSigned.cert), 'with the publish listener\'s own certificate')
  t.same((await subscriber.waitForEvents(3, TOPIC))[2], [{ username: null, tagname: 'Tag_http' }])
})

test('SIGHUP: a new certificate for new connections, open sessions keep going; a bad file keeps the old one', needsOpenssl, async (t) => {
  const c = makeCertificates()
  const ca = readFileSync(c.ca)
  const live = { cert: join(c.dir, 'live.crt'), key: join(c.dir, 'live.key') }
  copyFileSync(c.server.cert, live.cert)
  copyFileSync(c.server.encryptedKey, live.key)
  const gw = await tlsGateway(t, `context_options[local_cert]=${live.cert}&context_options[local_pk]=${live.key}&context_options[passphrase]=${q(PASSPHRASE)}`, ca)

  const before = await connectWamp(`wss://localhost:${gw.port}/ws?ticket=x`, { tls: { ca } })
  t.teardown(() => before.close())
  t.equal(peerFingerprint(before), fingerprint(c.server.cert), 'the first certificate')
  before.subscribe(TOPIC)
  await before.sync()
  const backend = await welcomed(backendHandshake(parseDsn(`ssl://localhost:${gw.port}/ws?context_options[cafile]=${c.ca}`), 'x', 5000))
  t.teardown(() => backend.socket.destroy())

  // The renewal: new files in place, then SIGHUP (what certbot's deploy hook would do).
  copyFileSync(c.renewed.cert, live.cert)
  copyFileSync(c.renewed.key, live.key)
  gw.child.kill('SIGHUP')
  const reloaded = await waitForLog(gw.logLines, (l) => typeof l.msg === 'string' && l.msg.startsWith('certificate reloaded for the websocket listener'), 'certificate reloaded')
  t.equal(reloaded.fingerprint256, fingerprint(c.renewed.cert), 'the log names the new certificate')

  const after = await connectWamp(`wss://localhost:${gw.port}/ws?ticket=x`, { tls: { ca } })
  t.teardown(() => after.close())
  t.equal(peerFingerprint(after), fingerprint(c.renewed.cert), 'a new connection gets the new certificate')
  after.subscribe(TOPIC)
  await after.sync()
  backend.publish([7, TOPIC, 'after reload', [], []])
  t.same(await before.waitForEvents(1, TOPIC), ['after reload'], 'the session opened before SIGHUP still receives')
  t.same(await after.waitForEvents(1, TOPIC), ['after reload'], 'and so does the new one')

  // A broken renewal: the old certificate stays, the log says what to fix.
  writeFileSync(live.cert, 'not a certificate\n')
  gw.child.kill('SIGHUP')
  const failed = await waitForLog(gw.logLines, (l) => typeof l.msg === 'string' && l.msg.startsWith('certificate reload failed'), 'certificate reload failed')
  t.match(failed.msg, /keeps its old certificate: ORO_WEBSOCKET_SERVER_DSN context_options\[local_cert\] = ".*live\.crt" holds no PEM certificate/)
  t.equal(failed.level, 'error')
  const third = await connectWamp(`wss://localhost:${gw.port}/ws?ticket=x`, { tls: { ca } })
  t.teardown(() => third.close())
  t.equal(peerFingerprint(third), fingerprint(c.renewed.cert), 'new connections still get the last good certificate')
  backend.publish([7, TOPIC, 'after a failed reload', [], []])
  t.same((await before.waitForEvents(2, TOPIC))[1], 'after a failed reload', 'the first session is still open')
  t.equal(gw.child.exitCode, null, 'SIGHUP did not stop the gateway')
  t.notOk(gw.stdout().includes(PASSPHRASE) || gw.stdout().includes(q(PASSPHRASE)), 'the passphrase is in no log line')
})

test('context_options[verify_peer]=true on the listener: only clients with a certificate the CA signed', needsOpenssl, async (t) => {
  const c = makeCertificates()
  const ca = readFileSync(c.ca)
  const client = { cert: readFileSync(c.client.cert), key: readFileSync(c.client.key) }
  // The readiness poll presents the client certificate too.
  const port = await freePort()
  const gw = await startGateway({
    args: ['--env=dev'],
    env: { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}&context_options[verify_peer]=true&context_options[cafile]=${c.ca}`, ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml' },
    scheme: 'https',
    ready: async (url, timeoutMs, gaveUp) => {
      const deadline = Date.now() + timeoutMs
      let done = false
      void gaveUp.then(() => { done = true })
      while (!done && Date.now() < deadline) {
        if (await httpsRequest(`${url}/healthz`, { ca, ...client }).then((a) => a.status === 200, () => false)) return
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      throw new Error('not ready')
    },
    timeoutMs: 30_000
  }, t)
  const session = await connectWamp(`wss://localhost:${gw.port}/ws?ticket=x`, { tls: { ca, ...client } })
  t.teardown(() => session.close())
  t.ok(session.sessionId, 'WELCOME with the client certificate')
  await t.rejects(connectWamp(`wss://localhost:${gw.port}/ws?ticket=x`, { tls: { ca } }), 'no client certificate: no session')
  const self = { cert: readFileSync(c.selfSigned.cert), key: readFileSync(c.selfSigned.key) }
  await t.rejects(connectWamp(`wss://localhost:${gw.port}/ws?ticket=x`, { tls: { ca, ...self } }), 'a client certificate the CA did not sign: no session')
})
