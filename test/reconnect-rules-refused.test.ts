// What a refused reconnect costs an open Oro page under each wamp.js reconnect rule (oro-compat §6;
// README "What a restart, a 429 and a 503 cost an open page"). A page of the database user alice
// (helpers/wamp-js-page.ts, the rule shared with bench/storm.mjs) reaches real gateway processes
// through a TCP relay as through a trusted proxy (a load balancer), naming its browser address in
// X-Forwarded-For (outside ORO_WEBSOCKET_BACKEND_NETWORKS=127.0.0.1/32). The relay drops its
// connection (no close frame) and sends what follows to a second node, whose user cache is empty
// (the first one would admit alice for a few seconds from its cache); that node refuses the
// page's first retry with 503
// (GW_ERR_DATABASE_UNAVAILABLE: the database cut through another relay) and its second with 429
// (GW_ERR_USER_SESSIONS: ORO_WEBSOCKET_MAX_SESSIONS_PER_USER=1 and another tab of alice's got in
// first); the third is admitted and gets a publish. Each refusal costs a released page another
// "connection lost" and retryDelay x attempts (60 s, 120 s, 180 s; x 0.02 here), a master page one
// silent 2 s slot. The refusals are arranged from the page's ticket fetches (one before every
// attempt), so what is asserted is what the page recorded, never how long anything took.
import { test } from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { startGateway, freePort, type Gateway } from './helpers/spawn-gateway.js'
import { makeTicket } from './helpers/tickets.js'
import { connectWamp, type WampClient } from './helpers/wamp-client.js'
import { createPgUsers, needsPostgres, startTcpProxy, USERS } from './helpers/databases.js'
import { openWampJsPage } from './helpers/wamp-js-page.js'
import { ORO_DELAYS } from '../bench/lib/wamp-js-rule.mjs'

const postgres = await needsPostgres()
const SECRET = 'reconnect-refused-secret'
const KEY = 'reconnect-refused-publish-key'
const alice = USERS.find((u) => u.username === 'alice') as (typeof USERS)[number]
const SCALE = { master: 1, released: 0.02 } as const

/** A TCP relay whose connections can be dropped and whose next ones go to another port. */
async function startSwitch (t: { teardown: (fn: () => unknown) => void }, target: number): Promise<{ port: number, dropAndSwitch: (to: number) => void }> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => { client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return {
    port: (server.address() as { port: number }).port,
    dropAndSwitch: (to) => { target = to; for (const s of sockets) s.destroy() }
  }
}

// The two rules side by side (each its own gateway, port, relay and user table): half the time.
test('a reconnect refused with 503, then 429, then admitted, under each rule', { ...postgres, jobs: 2, timeout: 180_000 }, async (top) => {
  for (const rule of ['master', 'released'] as const) void top.test(rule, async (t) => {
    const { url: dbUrl, table } = await createPgUsers(t)
    const database = await startTcpProxy(Number(new URL(dbUrl).port || 5432), new URL(dbUrl).hostname)
    t.teardown(() => database.close())
    const relayed = new URL(dbUrl)
    relayed.hostname = '127.0.0.1'
    relayed.port = String(database.port)
    const options = (port: number): { args: string[], env: Record<string, string> } => ({
      args: ['--env=prod'],
      env: {
        ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}`,
        ORO_SECRET: SECRET,
        ORO_DB_URL: relayed.toString(),
        ORO_WEBSOCKET_USER_TABLE: table,
        ORO_WEBSOCKET_PUBLISH_KEYS: KEY,
        ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32',
        ORO_WEBSOCKET_MAX_SESSIONS_PER_USER: '1',
        ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml'
      }
    })
    const [first, gateway] = await Promise.all([startGateway(options(await freePort()), t), startGateway(options(await freePort()), t)]) as [Gateway, Gateway]
    const port = gateway.port
    const network = await startSwitch(t, first.port)
    const ticket = (): string => makeTicket({ secret: SECRET, username: 'alice', password: alice.password })
    const browserSessions = async (gw: Gateway = gateway): Promise<number> => Number(/^oro_ws_connections\{kind="browser"\} (\d+)/m.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? NaN)

    let otherTab: WampClient | undefined
    t.teardown(() => otherTab?.close())
    const page = openWampJsPage({
      url: `ws://127.0.0.1:${network.port}/`,
      rule,
      scale: SCALE[rule],
      channels: ['oro/data/update'],
      headers: { 'X-Forwarded-For': '198.18.2.2' },
      // Oro's ticket fetch before every attempt; the 2nd to 4th set up what meets the attempt.
      fetchTicket: async (p) => {
        const fetched = p.ticketsFetched
        if (fetched === 2) {
          await database.cut()
        } else if (fetched === 3) {
          await database.restore()
          otherTab = await connectWamp(`ws://127.0.0.1:${port}/?ticket=${encodeURIComponent(ticket())}`, { localAddress: '127.0.2.3' })
        } else if (fetched === 4) {
          otherTab?.close()
          while (await browserSessions() !== 0) await new Promise((resolve) => setTimeout(resolve, 50))
        }
        return ticket()
      }
    })
    t.teardown(() => page.stop())
    await page.until((p) => p.welcomes === 1, 'the first WELCOME')

    t.equal(await browserSessions(first), 1, 'a browser session, through the trusted proxy')
    // The relay drops the connection and sends the retries to the other node.
    network.dropAndSwitch(gateway.port)
    await page.until((p) => p.welcomes === 2 || p.closedForGood || p.attempts.length > 4, 'coming back', 120_000)

    // Once back, a publish reaches it (its SUBSCRIBE may still be on its way at first).
    const deadline = Date.now() + 60_000
    while (!page.events.some((e) => e.connection === 2) && Date.now() < deadline) {
      await (await fetch(`${gateway.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ topic: 'oro/data/update', data: [{ username: 'alice', tagname: 'Oro_Bundle_UserBundle_Entity_User_7' }] }) })).arrayBuffer()
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    t.ok(page.events.some((e) => e.connection === 2), 'back, it gets a publish')

    t.same(page.attempts, [
      { outcome: 'welcome' },
      { outcome: 'refused', status: 503, code: 'GW_ERR_DATABASE_UNAVAILABLE' },
      { outcome: 'refused', status: 429, code: 'GW_ERR_USER_SESSIONS' },
      { outcome: 'welcome' }
    ], 'the first retry refused with 503, the second with 429, the third admitted')
    t.equal(page.ticketsFetched, 4, 'a new ticket before every attempt')
    t.same(page.hangups, [{ code: 1006, clean: false }], 'the drop was an unclean loss; no clean close')
    t.notOk(page.closedForGood)
    if (rule === 'master') {
      const slot = ORO_DELAYS.keepReconnectRetryDelay
      t.same(page.retries, [
        { delay: slot, showLost: false, retryCount: 0 },
        { delay: slot, showLost: false, retryCount: 0 },
        { delay: slot, showLost: false, retryCount: 0 }
      ], 'each refusal cost one more silent 2 s slot (inside the 15 s window)')
      t.equal(page.lostShown, 0, '"connection lost" never shown')
    } else {
      const R = ORO_DELAYS.retryDelay * SCALE.released
      t.same(page.retries, [
        { delay: R, showLost: true, retryCount: 1 },
        { delay: 2 * R, showLost: true, retryCount: 2 },
        { delay: 3 * R, showLost: true, retryCount: 3 }
      ], 'the drop cost retryDelay, the 503 another 2 x retryDelay, the 429 another 3 x retryDelay')
      t.equal(page.lostShown, 3, '"connection lost" shown at the drop and again at each refusal')
    }
  })
})
