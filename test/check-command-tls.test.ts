// The doctor against a gateway that serves TLS itself (the SERVER DSN's context_options[local_cert]),
// spawned as a process with certificates openssl makes: its gateway, ticket, origin, frontend and
// http steps ask over https:// and wss://, trusting the certificate of local_cert (as wait-ready
// does), so every step passes; a configuration whose local_cert is another certificate than the
// one served fails those steps with the fix, before any ticket is sent.
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { makeCertificates, opensslBinary } from './helpers/certificates.js'
import { doctor, line, ORIGIN, SECRET } from './helpers/doctor.js'
import { serviceOptions } from './helpers/services.js'
import { freePort, startGateway } from './helpers/spawn-gateway.js'
import { httpsReady } from './helpers/tls-clients.js'

const needsOpenssl = serviceOptions(opensslBinary !== undefined, 'openssl', 'apt-get install openssl')

test('a gateway with TLS of its own: every step over https/wss with the certificate of local_cert', needsOpenssl, async (t) => {
  const c = makeCertificates()
  const port = await freePort()
  const serverDsn = (cert: string, key: string): string => `//127.0.0.1:${port}?context_options[local_cert]=${cert}&context_options[local_pk]=${key}`
  const env = {
    ORO_SECRET: SECRET,
    ORO_WEBSOCKET_SERVER_DSN: serverDsn(c.server.cert, c.server.key),
    ORO_WEBSOCKET_FRONTEND_DSN: `//*:${port}/ws`,
    ORO_WEBSOCKET_BACKEND_DSN: `ssl://localhost:${port}/ws?context_options[cafile]=${c.ca}`,
    ORO_WEBSOCKET_PUBLISH_KEYS: 'publish-key',
    ORO_WEBSOCKET_ALLOWED_ORIGINS: 'shop.example.com,127.0.0.1,localhost',
    ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml'
  }
  await startGateway({ args: ['--env=prod'], env, scheme: 'https', ready: httpsReady(readFileSync(c.ca)), timeoutMs: 30_000 }, t)

  t.test('the gateway\'s own certificate: all steps pass', async (t) => {
    const result = await doctor(env, ['--origin', ORIGIN])
    if (result.code !== 0) t.comment(result.stdout + result.stderr)
    t.equal(result.code, 0, 'exit 0')
    for (const step of ['broker', 'gateway', 'backend', 'ticket', 'origin', 'frontend', 'publish', 'http']) {
      t.match(line(result.stdout, step), /^ok {2}/, `${step} passes`)
    }
    t.match(line(result.stdout, 'gateway'), new RegExp(`https://127\\.0\\.0\\.1:${port}/readyz: ready \\(the certificate of context_options\\[local_cert\\]\\)`))
    t.match(line(result.stdout, 'ticket'), new RegExp(`wss://127\\.0\\.0\\.1:${port}/`))
    t.match(line(result.stdout, 'frontend'), new RegExp(`wss://127\\.0\\.0\\.1:${port}/ws: WELCOME`))
    t.match(line(result.stdout, 'http'), new RegExp(`POST https://127\\.0\\.0\\.1:${port}/publish: 202`))
  })

  t.test('another certificate in local_cert than the one served: the steps fail and say why', async (t) => {
    const result = await doctor({ ...env, ORO_WEBSOCKET_SERVER_DSN: serverDsn(c.selfSigned.cert, c.selfSigned.key) }, ['--origin', ORIGIN])
    t.equal(result.code, 1, 'exit 1')
    const fix = /the certificate served \(SHA-256 [0-9A-F:]+\) is not the one in context_options\[local_cert\] .*-> fix: the certificate served at (wss:\/\/)?127\.0\.0\.1:\d+(\/ws)? is not the one this configuration gives the gateway \(context_options\[local_cert\]\): another process listens there, or the gateway was not reloaded after a renewal/
    for (const step of ['gateway', 'ticket', 'frontend']) t.match(line(result.stdout, step), new RegExp(`^FAIL {2}${step} .*${fix.source}`), `${step} fails with the fix`)
    t.match(line(result.stdout, 'origin'), /^FAIL {2}origin .*is not the one in context_options\[local_cert\]/)
    t.match(line(result.stdout, 'backend'), /^ok/, 'the BACKEND DSN trusts the CA (cafile), not the pin: it still passes')
  })
})
