// What a started gateway has not loaded: prom-client (and its @opentelemetry/api) until the first
// GET /metrics; a node nobody scrapes never holds them (docs/benchmark.md, issue 20, memory).
import { test } from 'tap'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startGateway, type Gateway } from './helpers/spawn-gateway.js'

const probe = fileURLToPath(new URL('./fixtures/loaded-packages.cjs', import.meta.url))

async function loadedPackages (gw: Gateway, file: string): Promise<string[]> {
  rmSync(file, { force: true })
  gw.child.kill('SIGUSR2')
  for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  return JSON.parse(readFileSync(file, 'utf8')) as string[]
}

test('prom-client is loaded at the first GET /metrics, not at start', async (t) => {
  const file = join(tmpdir(), `gateway-loaded-packages.${process.pid}.json`)
  t.teardown(() => rmSync(file, { force: true }))
  const gw = await startGateway({
    args: ['--env=prod'],
    env: { ORO_SECRET: 's', ORO_WEBSOCKET_PUBLISH_KEYS: 'startup-test-key', NODE_OPTIONS: `--require ${probe}`, LOADED_PACKAGES_FILE: file }
  }, t)
  const atStart = await loadedPackages(gw, file)
  t.ok(atStart.includes('fastify'), 'the probe sees the packages loaded')
  t.notOk(atStart.includes('prom-client'), 'prom-client not loaded at start')
  t.notOk(atStart.includes('@opentelemetry/api'), 'nor what it brings')

  const res = await fetch(`${gw.url}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4; charset=utf-8$/)
  const text = await res.text()
  for (const name of ['oro_ws_sessions', 'oro_ws_upgrade_auth_seconds', 'oro_ws_publish_to_write_seconds', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) {
    t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name)
  }
  t.ok((await loadedPackages(gw, file)).includes('prom-client'), 'loaded by the scrape')
  t.equal((await fetch(`${gw.url}/metrics`)).status, 200, 'and scraped again')
})
