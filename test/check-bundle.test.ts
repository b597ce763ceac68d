// The doctor's `bundle` step: with --app-root, the Oro bundle's ORO_WEBSOCKET_PUBLISH_DSN and
// ORO_WEBSOCKET_PUBLISH_KEY are read from a (fake) Oro application's .env-app files as the
// gateway reads its own (.env-app.local over .env-app, $VAR references), and a probe is POSTed to
// THAT URL with THAT key and the DSN's ca_file, against a real gateway serving TLS from a test CA:
// right settings pass; a wrong key, a missing CA, a wrong port or scheme, a half configuration
// each fail with what to change; no settings is a skip.
import { test } from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeCertificates, opensslBinary } from './helpers/certificates.js'
import { doctor, line, ORIGIN, SECRET } from './helpers/doctor.js'
import { serviceOptions } from './helpers/services.js'
import { freePort, startGateway } from './helpers/spawn-gateway.js'
import { httpsReady } from './helpers/tls-clients.js'

const needsOpenssl = serviceOptions(opensslBinary !== undefined, 'openssl', 'apt-get install openssl')

test('check --app-root: the Oro bundle\'s settings, as the bundle uses them', needsOpenssl, async (t) => {
  const c = makeCertificates()
  t.teardown(() => rmSync(c.dir, { recursive: true, force: true }))
  const port = await freePort()
  const env = {
    ORO_SECRET: SECRET,
    ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}?context_options[local_cert]=${c.server.cert}&context_options[local_pk]=${c.server.key}`,
    ORO_WEBSOCKET_FRONTEND_DSN: `//*:${port}/ws`,
    ORO_WEBSOCKET_BACKEND_DSN: `ssl://localhost:${port}/ws?context_options[cafile]=${c.ca}`,
    ORO_WEBSOCKET_PUBLISH_KEYS: 'publish-key',
    ORO_WEBSOCKET_ALLOWED_ORIGINS: 'shop.example.com,127.0.0.1,localhost',
    ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml'
  }
  await startGateway({ args: ['--env=prod'], env, scheme: 'https', ready: httpsReady(readFileSync(c.ca)), timeoutMs: 30_000 }, t)
  const dsn = `https://127.0.0.1:${port}/publish`

  /** The report's bundle line, runs of spaces as one (the step column's width varies). */
  const bundleLine = (stdout: string): string => line(stdout, 'bundle').replace(/ {2,}/g, ' ')

  /** A fake Oro application root with these .env-app files; the doctor run with --app-root on it. */
  const check = async (files: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<{ code: number, stdout: string, root: string }> => {
    const root = mkdtempSync(join(tmpdir(), 'gw-check-bundle-'))
    t.teardown(() => rmSync(root, { recursive: true, force: true }))
    for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text)
    const result = await doctor({ ...env, ...extraEnv }, ['--app-root', root, '--origin', ORIGIN])
    return { code: result.code, stdout: result.stdout + result.stderr, root }
  }

  t.test('right URL, key and CA: ok, from the files the gateway would read', async (t) => {
    const { code, stdout, root } = await check({
      '.env-app': `ORO_WEBSOCKET_PUBLISH_DSN=${dsn}?ca_file=${c.ca}&timeout=0.8\nORO_WEBSOCKET_PUBLISH_KEY=a-stale-key\nSHARED_KEY=publish-key\n`,
      '.env-app.local': 'ORO_WEBSOCKET_PUBLISH_KEY=${SHARED_KEY}\n'
    })
    if (code !== 0) t.comment(stdout)
    t.equal(code, 0, 'exit 0')
    t.match(bundleLine(stdout), `ok bundle POST ${dsn} with ca_file=${c.ca} (ORO_WEBSOCKET_PUBLISH_DSN (in ${join(root, '.env-app')}), ORO_WEBSOCKET_PUBLISH_KEY (in ${join(root, '.env-app.local')})): 202, and the event reached the subscriber`)
    t.notMatch(stdout, 'publish-key', 'the key is never printed')
  })

  t.test('a key the gateway does not have: fail, naming the setting and its file', async (t) => {
    const { code, stdout, root } = await check({ '.env-app.local': `ORO_WEBSOCKET_PUBLISH_DSN=${dsn}?ca_file=${c.ca}\nORO_WEBSOCKET_PUBLISH_KEY=not-the-key\n` })
    t.equal(code, 1)
    t.match(bundleLine(stdout), `FAIL bundle POST ${dsn} with ca_file=`)
    t.match(bundleLine(stdout), `HTTP 401 GW_ERR_UNAUTHORIZED -> fix: ORO_WEBSOCKET_PUBLISH_KEY (in ${join(root, '.env-app.local')}) is not one of the gateway's ORO_WEBSOCKET_PUBLISH_KEYS`)
    t.match(line(stdout, 'http'), /^ok/, 'the gateway\'s own key still works')
  })

  t.test('no ca_file for the gateway\'s private CA: fail, saying to add it to the DSN', async (t) => {
    const { code, stdout } = await check({ '.env-app.local': `ORO_WEBSOCKET_PUBLISH_DSN=${dsn}\nORO_WEBSOCKET_PUBLISH_KEY=publish-key\n` })
    t.equal(code, 1)
    t.match(bundleLine(stdout), /^FAIL bundle POST \S+ with the system's CAs .*: [A-Z_]+ -> fix: the gateway's certificate is not signed by a CA the system trusts: add \?ca_file=\/path\/to\/ca\.pem .* to ORO_WEBSOCKET_PUBLISH_DSN/)
  })

  t.test('verify=false in the DSN: accepted as the bundle would', async (t) => {
    const { code, stdout } = await check({ '.env-app.local': `ORO_WEBSOCKET_PUBLISH_DSN=${dsn}?verify=false\nORO_WEBSOCKET_PUBLISH_KEY=publish-key\n` })
    t.equal(code, 0)
    t.match(bundleLine(stdout), /^ok bundle POST \S+ without certificate verification \(verify=false\)/)
  })

  t.test('a wrong port, a wrong scheme: fail with the gateway\'s URL', async (t) => {
    const wrongPort = await check({ '.env-app.local': `ORO_WEBSOCKET_PUBLISH_DSN=https://127.0.0.1:${await freePort()}/publish?ca_file=${c.ca}\nORO_WEBSOCKET_PUBLISH_KEY=publish-key\n` })
    t.equal(wrongPort.code, 1)
    t.match(bundleLine(wrongPort.stdout), `: ECONNREFUSED -> fix: nothing listens at 127.0.0.1:`)
    t.match(bundleLine(wrongPort.stdout), `(this gateway's: https://127.0.0.1:${port}/publish)`)
    const wrongScheme = await check({ '.env-app.local': `ORO_WEBSOCKET_PUBLISH_DSN=http://127.0.0.1:${port}/publish\nORO_WEBSOCKET_PUBLISH_KEY=publish-key\n` })
    t.equal(wrongScheme.code, 1)
    t.match(bundleLine(wrongScheme.stdout), /^FAIL .*-> fix: .*use http:\/\/ or https:\/\/ in ORO_WEBSOCKET_PUBLISH_DSN as the gateway listens/)
  })

  t.test('the environment wins over the files, as with Symfony\'s Dotenv', async (t) => {
    const { code, stdout } = await check({ '.env-app.local': `ORO_WEBSOCKET_PUBLISH_DSN=${dsn}?ca_file=${c.ca}\nORO_WEBSOCKET_PUBLISH_KEY=not-the-key\n` }, { ORO_WEBSOCKET_PUBLISH_KEY: 'publish-key' })
    t.equal(code, 0)
    t.match(bundleLine(stdout), /^ok .*ORO_WEBSOCKET_PUBLISH_KEY \(environment\)/)
  })

  t.test('half a configuration: fail, the bundle keeps Oro\'s client', async (t) => {
    const { code, stdout } = await check({ '.env-app.local': `ORO_WEBSOCKET_PUBLISH_DSN=${dsn}\nORO_WEBSOCKET_PUBLISH_KEY=\n` })
    t.equal(code, 1)
    t.match(bundleLine(stdout), /^FAIL bundle ORO_WEBSOCKET_PUBLISH_DSN \(in .*\.env-app\.local\) is set but ORO_WEBSOCKET_PUBLISH_KEY is not: the bundle keeps Oro's WAMP client -> fix: set ORO_WEBSOCKET_PUBLISH_KEY/)
  })

  t.test('no settings: the bundle is off, said as a skip', async (t) => {
    const { code, stdout } = await check({ '.env-app': 'ORO_WEBSOCKET_PUBLISH_DSN=\n' })
    t.equal(code, 0)
    t.match(bundleLine(stdout), /^skip bundle the Oro bundle is off/)
  })
})
