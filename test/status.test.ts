/// <reference lib="dom" />
// GET /status and /status.json: off unless ORO_WEBSOCKET_STATUS=on; with a key on the WebSocket
// listener (Bearer or ?key=), without one only on the metrics listener. The page itself in headless
// Chromium: no console errors, figures that follow real traffic, and a screenshot kept as an
// artifact (its path is printed).
import { test } from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startApp } from './helpers/app.js'
import { connectWamp, TEST_ORIGIN, type WampClient } from './helpers/wamp-client.js'
import { chromiumPath, launchChromium } from './helpers/browser.js'
import { serviceOptions } from './helpers/services.js'
import { makeTicket } from './helpers/tickets.js'
import { freePort, startGateway } from './helpers/spawn-gateway.js'
import { loadConfig } from '../src/config/load.js'
import type { StatusSnapshot } from '../src/status/board.js'

const KEY = 'status-test-key'
const SECRET = 'status-test-secret'
const ON = { ORO_SECRET: SECRET, ORO_WEBSOCKET_STATUS: 'on', ORO_WEBSOCKET_STATUS_KEY: KEY }

test('off by default: /status and /status.json are 404', async (t) => {
  const gw = await startApp(t)
  for (const path of ['/status', '/status.json', `/status?key=${KEY}`]) {
    const response = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } })
    t.equal(response.status, 404, `${path}: 404`)
    t.equal(((await response.json()) as { code: string }).code, 'GW_ERR_NOT_FOUND')
  }
})

test('on the WebSocket listener it needs a key: refused without one, at start', async (t) => {
  t.throws(() => loadConfig({ env: { ORO_WEBSOCKET_STATUS: 'on' }, cwd: process.cwd() }), /ORO_WEBSOCKET_STATUS = "on" needs ORO_WEBSOCKET_STATUS_KEY/)
  t.throws(() => loadConfig({ env: { ORO_WEBSOCKET_STATUS: 'yes' }, cwd: process.cwd() }), /ORO_WEBSOCKET_STATUS/, 'only on or off')
  t.ok(loadConfig({ env: { ORO_WEBSOCKET_STATUS: 'on', ORO_WEBSOCKET_METRICS_LISTEN: '127.0.0.1:9464' }, cwd: process.cwd() }), 'a metrics listener needs none')
})

test('a missing or wrong key gets 401 GW_ERR_STATUS_UNAUTHORIZED; Bearer or ?key= is let in', async (t) => {
  const gw = await startApp(t, ON, 'prod', 'info')
  const cases: Array<[string, Record<string, string>]> = [
    ['/status', {}],
    ['/status.json', {}],
    ['/status?key=wrong', {}],
    [`/status?key=${KEY}x`, {}],
    ['/status.json', { authorization: 'Bearer wrong' }],
    ['/status.json', { authorization: `Basic ${KEY}` }]
  ]
  for (const [path, headers] of cases) {
    const response = await fetch(`${gw.url}${path}`, { headers })
    t.equal(response.status, 401, `${path} ${JSON.stringify(headers)}: 401`)
    t.equal(response.headers.get('www-authenticate'), 'Bearer realm="status"')
    const body = await response.json() as { code: string, message: string }
    t.equal(body.code, 'GW_ERR_STATUS_UNAUTHORIZED')
    t.match(body.message, /ORO_WEBSOCKET_STATUS_KEY/, 'the message says which key')
  }
  const page = await fetch(`${gw.url}/status?key=${KEY}`)
  t.equal(page.status, 200, '?key= opens the page')
  t.match(page.headers.get('content-type'), /^text\/html/)
  t.match(page.headers.get('content-security-policy'), /default-src 'none'; script-src 'sha256-/, 'only its own script runs')
  t.equal(page.headers.get('cache-control'), 'no-store')
  t.equal(page.headers.get('referrer-policy'), 'no-referrer')
  t.notMatch(await page.text(), /https?:\/\//, 'nothing loaded from elsewhere')
  const json = await fetch(`${gw.url}/status.json`, { headers: { authorization: `Bearer ${KEY}` } })
  t.equal(json.status, 200, 'Bearer opens the figures')
  const snapshot = await json.json() as StatusSnapshot
  t.equal(snapshot.broker.kind, 'memory')
  t.equal(snapshot.state, 'listening')
  t.equal(snapshot.database, null)
  t.equal(gw.logs.filter((l) => JSON.stringify(l).includes(KEY)).length, 0, 'the key is never logged')
})

test('with ORO_WEBSOCKET_METRICS_LISTEN: there without a key, and not on the WebSocket listener', async (t) => {
  const metricsPort = await freePort()
  const gw = await startGateway({ args: ['--env=prod'], env: { ORO_SECRET: SECRET, ORO_WEBSOCKET_STATUS: 'on', ORO_WEBSOCKET_METRICS_LISTEN: `127.0.0.1:${metricsPort}` } }, t)
  const page = await fetch(`http://127.0.0.1:${metricsPort}/status`)
  t.equal(page.status, 200, 'the page on the metrics listener')
  t.match(await page.text(), /<title>oro-websocket-gateway status<\/title>/)
  const json = await fetch(`http://127.0.0.1:${metricsPort}/status.json`)
  t.equal(json.status, 200)
  t.equal(((await json.json()) as StatusSnapshot).connections.total, 0)
  t.equal((await fetch(`${gw.url}/status`)).status, 404, 'not on the WebSocket listener')
  t.equal((await fetch(`${gw.url}/status.json`)).status, 404)
})

test('the page in Chromium: no console errors, live figures that follow the traffic, a screenshot', serviceOptions(chromiumPath !== undefined, 'Chromium', 'apt-get install chromium'), async (t) => {
  // Only 127.0.0.1 is a backend: the sessions from 127.0.0.5 are browsers.
  const gw = await startApp(t, { ...ON, ORO_WEBSOCKET_PUBLISH_KEYS: 'pk', ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32' }, 'prod', 'info')
  const browser = await launchChromium(t)
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
  const problems: string[] = []
  page.on('console', (message) => { if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`) })
  page.on('pageerror', (err) => { problems.push(`page error: ${err.message}`) })
  page.on('requestfailed', (request) => { problems.push(`request failed: ${request.url()}`) })

  await page.goto(`${gw.url}/status?key=${KEY}`)
  const text = async (id: string): Promise<string> => (await page.textContent(`#${id}`)) ?? ''
  await page.waitForFunction(() => document.getElementById('connections-total')?.textContent === '0')
  t.equal(await text('ready'), 'ready', 'the page shows the node ready')
  t.equal(await text('broker-state'), 'ok')
  t.equal(await text('broker-kind'), 'memory')
  t.equal(await text('database-state'), 'not used')
  t.equal(await text('rate-deliveries'), '0', 'no traffic yet')

  // Two browsers on a busy topic, a backend on a quiet one.
  const clients: WampClient[] = []
  for (let i = 0; i < 3; i++) {
    const ticket = encodeURIComponent(makeTicket({ secret: SECRET }))
    const client = await connectWamp(`${gw.wsUrl}/?ticket=${ticket}`, { headers: { origin: TEST_ORIGIN }, localAddress: i < 2 ? '127.0.0.5' : '127.0.0.1' })
    t.teardown(() => client.close())
    client.subscribe(i < 2 ? 'status/busy' : 'status/quiet')
    await client.sync()
    clients.push(client)
  }
  await page.waitForFunction(() => document.getElementById('connections-total')?.textContent === '3')
  await page.waitForFunction(() => document.getElementById('topics')?.textContent?.includes('status/busy') === true)
  const topics = await page.$$eval('#topics tr', (rows) => rows.map((row) => Array.from((row as HTMLTableRowElement).cells, (c) => c.textContent)))
  t.same(topics.slice(0, 2), [['status/busy', '2'], ['status/quiet', '1']], 'the topics by subscribers, the most first')
  t.equal(await text('subscriptions-total'), '3')
  t.equal(await text('connections-split'), '2 browser · 1 backend')

  // Publish until the page shows deliveries per second (the rate is over the last seconds).
  let published = 0
  const publishing = setInterval(() => {
    published++
    fetch(`${gw.url}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer pk' },
      body: JSON.stringify([{ topic: 'status/busy', data: { n: published } }, { topic: 'status/quiet', data: { n: published } }])
    }).catch(() => {})
  }, 50)
  t.teardown(() => clearInterval(publishing))
  await page.waitForFunction(() => Number(document.getElementById('rate-deliveries')?.textContent) > 0, undefined, { timeout: 60_000 })
  await page.waitForFunction(() => Number(document.getElementById('rate-publishes')?.textContent) > 0, undefined, { timeout: 60_000 })
  // The chart has drawn the traffic: a point above the baseline (y = 100 is zero).
  await page.waitForFunction(() => (document.querySelector('#traffic polyline.a')?.getAttribute('points') ?? '')
    .split(' ').some((p) => Number(p.split(',')[1]) < 99), undefined, { timeout: 60_000 })
  await page.waitForFunction(() => (document.querySelector('#sessions polyline.c')?.getAttribute('points') ?? '')
    .split(' ').some((p) => Number(p.split(',')[1]) < 99), undefined, { timeout: 60_000 })
  t.pass(`the rate, total and chart show deliveries (${await text('rate-deliveries')}/s, ${await text('total-deliveries')})`)

  // A session the gateway drops shows up by its reason.
  const dropped = clients.shift() as WampClient
  dropped.send('not wamp')
  await dropped.closed
  await page.waitForFunction(() => document.getElementById('connections-total')?.textContent === '2')
  await page.waitForFunction(() => document.getElementById('drops')?.textContent?.includes('protocol_error') === true)
  t.pass('the dropped session is counted under protocol_error')

  clearInterval(publishing)
  const dir = mkdtempSync(join(tmpdir(), 'oro-ws-status-'))
  const file = join(dir, 'status-page.png')
  await page.screenshot({ path: file, fullPage: true })
  t.comment(`screenshot of the status page: ${file}`)
  t.same(problems, [], 'no console errors, page errors or failed requests')
})
