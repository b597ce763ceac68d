// What a gateway restart costs an open Oro page under each wamp.js reconnect rule (oro-compat §6;
// README "What a restart, a 429 and a 503 cost an open page"): pages played by
// helpers/wamp-js-page.ts (the rule shared with bench/storm.mjs) over real sockets, as browsers
// (from 127.0.1.x, outside ORO_WEBSOCKET_BACKEND_NETWORKS=127.0.0.1/32), against real gateway
// processes: SIGTERM (the drain), then a new process on the same port.
//   master (Oro's delays as they are: 2 s silent retries for 15 s): every page back, silently.
//   released (delays x 0.02: retryDelay 1.2 s): every page shows "connection lost" at once and
//     comes back at its first retry, retryDelay after the drop. Oro's 60 s outlasts a restart; the
//     scaled 1.2 s may not, so these pages' first ticket after the drop is handed out once the new
//     process answers, as it would be by then. Two more released pages get their tickets at once
//     and show what a slow restart costs: "connection lost" again per failed try, retryDelay x
//     attempts apart.
// No page ever sees a clean close (it would never come back), and each gets a publish once back.
// Assertions are on what the pages recorded (attempts, retries, "connection lost" shown), not times.
import { test } from 'tap'
import { startGateway, freePort, type Gateway } from './helpers/spawn-gateway.js'
import { makeTicket } from './helpers/tickets.js'
import { openWampJsPage, type WampJsPage } from './helpers/wamp-js-page.js'
import { ORO_DELAYS } from '../bench/lib/wamp-js-rule.mjs'

const SECRET = 'reconnect-rules-secret'
const KEY = 'reconnect-rules-publish-key'
const MASTER_SCALE = 1
const RELEASED_SCALE = 0.02
const PER_RULE = 6

test('a gateway restart: master pages come back silently, released pages after "connection lost" and retryDelay; none closed cleanly', { timeout: 180_000 }, async (t) => {
  const port = await freePort()
  const options = {
    args: ['--env=prod'],
    env: {
      ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}`,
      ORO_SECRET: SECRET,
      ORO_WEBSOCKET_PUBLISH_KEYS: KEY,
      ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32',
      ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml'
    }
  }
  let gateway: Gateway = await startGateway(options, t)
  // Resolved once the new process answers; the held pages' tickets wait for it.
  let back: Promise<void> = Promise.resolve()
  const ticket = (): string => makeTicket({ secret: SECRET })

  const pages: Array<{ name: string, held: boolean, page: WampJsPage }> = []
  const open = (rule: 'master' | 'released', held: boolean, n: number): void => {
    const name = `${rule}${held ? ' (held)' : ''} #${n}`
    const page = openWampJsPage({
      url: `ws://127.0.0.1:${port}/`,
      rule,
      scale: rule === 'master' ? MASTER_SCALE : RELEASED_SCALE,
      channels: ['oro/data/update', `test/page/${pages.length}`],
      localAddress: `127.0.1.${2 + pages.length}`,
      fetchTicket: async (p) => {
        if (held && p.welcomes > 0) await back
        return ticket()
      }
    })
    pages.push({ name, held, page })
  }
  for (let n = 0; n < PER_RULE; n++) open('master', false, n)
  for (let n = 0; n < PER_RULE; n++) open('released', true, n)
  for (let n = 0; n < 2; n++) open('released', false, n)
  t.teardown(() => { for (const { page } of pages) page.stop() })

  const publish = async (topic: string, data: unknown): Promise<void> => {
    const res = await fetch(`${gateway.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ topic, data }) })
    await res.arrayBuffer()
  }
  // Publishes until every page has an event on its connection `connection` (a SUBSCRIBE sent
  // after WELCOME may still be on its way when a publish leaves).
  const everyPageGets = async (connection: number): Promise<void> => {
    const done = (): boolean => pages.every(({ page }) => page.events.some((e) => e.topic === 'oro/data/update' && e.connection === connection))
    const deadline = Date.now() + 60_000
    while (!done() && Date.now() < deadline) {
      await publish('oro/data/update', [{ username: null, tagname: `Oro_Bundle_UserBundle_Entity_User_${connection}` }])
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    t.ok(done(), `every page got a publish on connection ${connection}`)
  }
  const connections = async (kind: string): Promise<number> => Number(new RegExp(`^oro_ws_connections\\{kind="${kind}"\\} (\\d+)`, 'm').exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1] ?? NaN)

  await Promise.all(pages.map(async ({ page }) => await page.until((p) => p.welcomes === 1, 'the first WELCOME')))
  await everyPageGets(1)
  t.equal(await connections('browser'), pages.length, 'every page is a browser session')

  // The restart: SIGTERM drains and exits; a new process takes the same port.
  let up!: () => void
  back = new Promise((resolve) => { up = resolve })
  const killedAt = performance.now()
  gateway.child.kill('SIGTERM')
  t.equal((await gateway.exited).code, 0, 'the old process exits after its drain')
  gateway = await startGateway(options, t)
  up()
  // Which master rule applies depends on whether the new process answered inside the silent
  // window (on a quiet machine: a few seconds of 15); on a machine so loaded that it did not, the
  // pages fall back to the released shape and this says so rather than failing.
  const restartMs = performance.now() - killedAt
  const withinWindow = restartMs + ORO_DELAYS.keepReconnectRetryDelay < ORO_DELAYS.keepReconnectTimeout
  if (!withinWindow) t.comment(`the restart took ${Math.round(restartMs)} ms: past master's silent window`)

  await Promise.all(pages.map(async ({ page }) => await page.until((p) => p.welcomes === 2 || p.closedForGood, 'coming back', 90_000)))
  await everyPageGets(2)
  t.same([await connections('browser'), await connections('backend')], [pages.length, 0], 'all back, as browsers')

  const R = ORO_DELAYS.retryDelay * RELEASED_SCALE
  for (const { name, held, page } of pages) {
    t.same(page.hangups, [{ code: 1006, clean: false }], `${name}: one unclean loss (no close frame), so it reconnects`)
    t.notOk(page.closedForGood, `${name}: never closed for good`)
    t.equal(page.attempts.filter((a) => a.outcome === 'refused').length, 0, `${name}: no upgrade refused`)
    t.equal(page.ticketsFetched, page.attempts.length, `${name}: a new ticket for every attempt`)
    const failed = page.attempts.length - 2
    if (page.rule.rule === 'master' && withinWindow) {
      t.equal(page.lostShown, 0, `${name}: "connection lost" never shown (back within the ${ORO_DELAYS.keepReconnectTimeout / 1000} s silent window)`)
      t.same(page.retries.map((r) => r.delay), Array(failed + 1).fill(ORO_DELAYS.keepReconnectRetryDelay), `${name}: a retry every ${ORO_DELAYS.keepReconnectRetryDelay / 1000} s (${failed} while the port was closed)`)
    } else if (page.rule.rule === 'master') {
      const silent = page.retries.filter((r) => !r.showLost).length
      t.same(page.retries, page.retries.map((_, i) => i < silent
        ? { delay: ORO_DELAYS.keepReconnectRetryDelay, showLost: false, retryCount: 0 }
        : { delay: ORO_DELAYS.retryDelay * (i - silent + 1), showLost: true, retryCount: i - silent + 1 }), `${name}: silent 2 s retries, then retryDelay x attempts with "connection lost"`)
    } else if (held) {
      t.same(page.attempts.map((a) => a.outcome), ['welcome', 'welcome'], `${name}: back at its first retry`)
      t.same(page.retries, [{ delay: R, showLost: true, retryCount: 1 }], `${name}: "connection lost" at once, the retry retryDelay later`)
      t.equal(page.lostShown, 1, `${name}: shown once`)
    } else {
      t.same(page.retries, page.retries.map((_, i) => ({ delay: R * (i + 1), showLost: true, retryCount: i + 1 })), `${name}: retryDelay x attempts, "connection lost" each time (${failed} tries before the new process listened)`)
      t.equal(page.lostShown, failed + 1, `${name}: shown for the drop and once per failed try`)
    }
  }
})
