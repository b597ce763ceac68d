/// <reference lib="dom" />
import { test } from 'tap'
import { createServer, type Server } from 'node:http'
import { readFileSync } from 'node:fs'
import { startApp } from './helpers/app.js'
import { makeTicket } from './helpers/tickets.js'
import { chromiumPath, launchChromium } from './helpers/browser.js'
import { serviceOptions } from './helpers/services.js'

const SECRET = 'browser-test-secret'

// What Oro's sync/wamp.js does, on the browser's own WebSocket: fetch a ticket from the
// application (POST /sync/ticket), connect with subprotocol wamp, subscribe, and reconnect only
// after an unclean loss (a completed close handshake means "closed on purpose"), when wamp.js's
// rule says (bench/lib/wamp-js-rule.mjs, served to the page as a module; delays x scale).
const RULE_MODULE = readFileSync(new URL('../bench/lib/wamp-js-rule.mjs', import.meta.url))
const PAGE = (wsUrl: string, rule: 'master' | 'released', scale: number): string => `<!doctype html><meta charset="utf-8"><title>oro</title><script type="module">
import { createReconnectRule } from '/wamp-js-rule.mjs'
const reconnect = createReconnectRule({ rule: ${JSON.stringify(rule)}, scale: ${scale} })
window.results = { events: [], closes: [], welcomes: 0, ready: 0, protocols: [], retries: 0, lostShown: 0 }
let socket
async function connect () {
  const { ticket } = await (await fetch('/sync/ticket', { method: 'POST' })).json()
  socket = new WebSocket(${JSON.stringify(wsUrl)} + '?ticket=' + encodeURIComponent(ticket), ['wamp'])
  let welcomed = false
  socket.onmessage = (e) => {
    const m = JSON.parse(e.data)
    if (m[0] === 0) {
      welcomed = true
      reconnect.connected()
      results.welcomes++
      results.protocols.push(socket.protocol)
      socket.send(JSON.stringify([5, 'oro/data/update']))
      socket.send(JSON.stringify([2, 'ready', 'none']))
    } else if (m[0] === 4 && m[1] === 'ready') results.ready++
    else if (m[0] === 8) results.events.push(m[2])
  }
  socket.onclose = (e) => {
    results.closes.push({ code: e.code, wasClean: e.wasClean })
    // Decided here, at once: the test reads this instead of waiting to see nothing happen.
    if (e.wasClean) return
    results.retries++
    const next = welcomed ? reconnect.lost(performance.now()) : reconnect.failed(performance.now())
    if (next.showLost) results.lostShown++
    setTimeout(connect, next.delay)
  }
}
window.sendRaw = (text) => socket.send(text)
connect()
</script>`

function servePage (wsUrl: string, rule: 'master' | 'released' = 'master', scale = 0.05): Promise<{ server: Server, port: number }> {
  const server = createServer((req, res) => {
    if (req.url === '/wamp-js-rule.mjs') {
      res.setHeader('content-type', 'text/javascript')
      res.end(RULE_MODULE)
      return
    }
    if (req.method === 'POST' && req.url === '/sync/ticket') {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ ticket: makeTicket({ secret: SECRET }) }))
      return
    }
    res.setHeader('content-type', 'text/html')
    res.end(PAGE(wsUrl, rule, scale))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    resolve({ server, port: typeof address === 'object' && address !== null ? address.port : 0 })
  }))
}

// master: a silent retry 2 s x 0.05 later; released: "connection lost", the retry 60 s x 0.002 later.
for (const [rule, scale] of [['master', 0.05], ['released', 0.002]] as const) {
  test(`a real browser (${rule} rule): subscribe, receive, reconnect after a drop, stay away after a clean close`, serviceOptions(chromiumPath !== undefined, 'Chromium', 'apt-get install chromium'), async (t) => {
    const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k' }, 'prod', 'info')
    const { server, port } = await servePage(`${gw.wsUrl}/ws`, rule, scale)
    t.teardown(() => server.close())
    const browser = await launchChromium(t)
    const page = await browser.newPage()
    const publish = async (data: unknown): Promise<number> => (await fetch(`${gw.url}/publish`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body: JSON.stringify({ topic: 'oro/data/update', data })
    })).status
    type Results = { events: unknown[], closes: Array<{ code: number, wasClean: boolean }>, welcomes: number, ready: number, protocols: string[], retries: number, lostShown: number }
    const results = async (): Promise<Results> => page.evaluate(() => (window as unknown as { results: Results }).results)

    await page.goto(`http://localhost:${port}/`)
    await page.waitForFunction(() => (window as unknown as { results: Results }).results.ready === 1)
    t.same((await results()).protocols, ['wamp'], 'the browser negotiated wamp')
    t.equal(await publish([{ username: null, tagname: 'Tag_1' }]), 202)
    await page.waitForFunction(() => (window as unknown as { results: Results }).results.events.length === 1)
    t.same((await results()).events, [[{ username: null, tagname: 'Tag_1' }]], 'the event arrived as published')

    // The gateway drops the session (as on shutdown or overload): an unclean loss, so the page
    // reconnects with a new ticket and resubscribes by itself.
    for (const session of gw.app.sessions) session.drop()
    await page.waitForFunction(() => (window as unknown as { results: Results }).results.ready === 2)
    t.same((await results()).closes, [{ code: 1006, wasClean: false }], 'the browser saw an unclean close (1006) and came back')
    t.equal((await results()).lostShown, rule === 'master' ? 0 : 1, rule === 'master' ? 'silently' : 'after showing "connection lost"')
    t.equal(await publish([{ username: 'admin', tagname: 'Tag_2' }]), 202)
    await page.waitForFunction(() => (window as unknown as { results: Results }).results.events.length === 2)

    // A protocol error closes cleanly with 1007: Oro's rule is not to come back after that.
    await page.evaluate(() => (window as unknown as { sendRaw: (s: string) => void }).sendRaw('not json'))
    await page.waitForFunction(() => (window as unknown as { results: Results }).results.closes.length === 2)
    const closes = (await results()).closes
    t.same(closes[1], { code: 1007, wasClean: true })
    // The page decides in its close handler whether to come back: only the drop made it retry.
    t.equal((await results()).retries, 1, 'no reconnect after a clean close: why the gateway drops instead of closing')
    t.equal((await results()).welcomes, 2)
  })
}

test('a page from an origin that is not allowed cannot connect', serviceOptions(chromiumPath !== undefined, 'Chromium', 'apt-get install chromium'), async (t) => {
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k', ORO_WEBSOCKET_ALLOWED_ORIGINS: 'shop.example.com' }, 'prod', 'info')
  const { server, port } = await servePage(`${gw.wsUrl}/ws`)
  t.teardown(() => server.close())
  // The page is served from a host the list does not name (localhost would be allowed, as by Oro).
  const browser = await launchChromium(t, ['--host-resolver-rules=MAP evil.example 127.0.0.1'])
  const page = await browser.newPage()
  await page.goto(`http://evil.example:${port}/`)
  await page.waitForFunction(() => (window as unknown as { results: { closes: unknown[] } }).results.closes.length >= 1)
  const results = await page.evaluate(() => (window as unknown as { results: { welcomes: number, closes: Array<{ code: number }> } }).results)
  t.equal(results.welcomes, 0)
  t.equal(results.closes[0]?.code, 1006, 'the upgrade was refused')
  t.ok(gw.logs.some((l) => l.msg === 'Client rejected, bad origin' && l.origin === `http://evil.example:${port}`), 'logged with the page\'s origin')
})
