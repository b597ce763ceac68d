// The start line (src/start-line.ts) names the schemes the listener serves: ws:// and http://
// without TLS, wss:// and https:// with the SERVER DSN's certificate (and which one), both in
// its text and its fields; a spawned TLS gateway logs it so.
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { loadConfig } from '../src/config/load.js'
import { startLine } from '../src/start-line.js'
import { fingerprint, makeCertificates, opensslBinary } from './helpers/certificates.js'
import { serviceOptions } from './helpers/services.js'
import { freePort, startGateway } from './helpers/spawn-gateway.js'
import { httpsReady } from './helpers/tls-clients.js'

const needsOpenssl = serviceOptions(opensslBinary !== undefined, 'openssl', 'apt-get install openssl')

test('plain: ws:// and http://, tls null', async (t) => {
  const line = startLine(loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:8080' }, cwd: process.cwd() }), 'prod')
  t.match(line.msg, /^oro-websocket-gateway listening on 127\.0\.0\.1:8080, ws:\/\/ and http:\/\/; /)
  t.notMatch(line.msg, /wss:|https:/)
  t.equal(line.fields.tls, null)
})

test('TLS on the SERVER DSN: wss:// and https://, the certificate served; the publish URL is https', needsOpenssl, async (t) => {
  const c = makeCertificates()
  const loaded = loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: `//0.0.0.0:8443?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}`, ORO_WEBSOCKET_PUBLISH_KEYS: 'k' }, cwd: process.cwd() })
  const line = startLine(loaded, 'prod')
  t.match(line.msg, /^oro-websocket-gateway listening on 0\.0\.0\.0:8443, wss:\/\/ and https:\/\/ \(TLS, certificate CN=localhost valid until [^)]+\); /)
  t.match(line.msg, /POST https:\/\/127\.0\.0\.1:8443\/publish \(with a key\)/)
  t.match(line.fields.tls, { subject: 'CN=localhost', fingerprint256: fingerprint(c.server.cert) })
})

test('a spawned gateway with TLS logs that start line', needsOpenssl, async (t) => {
  const c = makeCertificates()
  const port = await freePort()
  const gw = await startGateway({
    env: { ORO_SECRET: 'start-line-secret', ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}` },
    args: ['--env=prod'],
    scheme: 'https',
    ready: httpsReady(readFileSync(c.ca))
  }, t)
  const start = gw.logLines().find((l) => String(l.msg).startsWith('oro-websocket-gateway listening on'))
  t.match(start?.msg, new RegExp(`^oro-websocket-gateway listening on 127\\.0\\.0\\.1:${port}, wss:// and https:// \\(TLS, certificate CN=localhost`))
  t.match(start?.tls, { fingerprint256: fingerprint(c.server.cert) })
})
