/// <reference lib="dom" />
// Session resumption in a real browser behind nginx (docs/auth.md "Resuming sessions"): headless
// Chromium runs what Oro's wamp.js does (a ticket from POST /sync/ticket, connect to /ws, reconnect
// after an unclean loss) through nginx's /ws location. The gateway sets its cookie with the 101;
// after a restart the browser sends it back by itself and is admitted without a digest. Another
// user's ticket, an expired, forged or other-secret cookie fall back to the full check.
import { test } from 'tap'
import { createServer, type Server } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../app.js'
import { loadConfig } from '../src/config/load.js'
import { createLogger } from '../src/logger.js'
import { createResumeCookies, RESUME_COOKIE } from '../src/auth/resume-cookie.js'
import { makeTicket, encodeTicket, phpDate } from './helpers/tickets.js'
import { chromiumPath, launchChromium } from './helpers/browser.js'
import { nginxBinary, startNginx } from './helpers/nginx.js'
import { createPgUsers, needsPostgres, USERS } from './helpers/databases.js'
import { freePort, serviceOptions } from './helpers/services.js'
import { Writable } from 'node:stream'
import { readFileSync } from 'node:fs'

const postgres = await needsPostgres()
const SECRET = 'resume-browser-secret'
const alice = USERS.find((u) => u.username === 'alice') as (typeof USERS)[number]
const bob = USERS.find((u) => u.username === 'bob') as (typeof USERS)[number]

// Reconnects by Oro master's wamp.js rule (bench/lib/wamp-js-rule.mjs, 2 s x 0.1): silently, soon.
const RULE_MODULE = readFileSync(new URL('../bench/lib/wamp-js-rule.mjs', import.meta.url))
const PAGE = (wsUrl: string): string => `<!doctype html><meta charset="utf-8"><title>oro</title><script type="module">
import { createReconnectRule } from '/wamp-js-rule.mjs'
const reconnect = createReconnectRule({ rule: 'master', scale: 0.1 })
window.results = { welcomes: 0, closes: [] }
async function connect () {
  const { ticket } = await (await fetch('/sync/ticket', { method: 'POST' })).json()
  const socket = new WebSocket(${JSON.stringify(wsUrl)} + '?ticket=' + encodeURIComponent(ticket), ['wamp'])
  let welcomed = false
  socket.onmessage = (e) => { if (JSON.parse(e.data)[0] === 0) { welcomed = true; reconnect.connected(); results.welcomes++ } }
  socket.onclose = (e) => {
    results.closes.push({ code: e.code, wasClean: e.wasClean })
    if (!e.wasClean) setTimeout(connect, (welcomed ? reconnect.lost(performance.now()) : reconnect.failed(performance.now())).delay)
  }
}
connect()
</script>`

type Results = { welcomes: number, closes: Array<{ code: number, wasClean: boolean }> }

test('a browser behind nginx resumes with its cookie after a restart; other cookies and tickets get the full check', {
  ...postgres,
  ...serviceOptions(chromiumPath !== undefined, 'Chromium', 'apt-get install chromium'),
  ...serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx')
}, async (t) => {
  const { url: dbUrl, table } = await createPgUsers(t)
  const port = await freePort()
  // In-process gateways on one fixed port, so a "restart" is close() then a new app there.
  const start = async (): Promise<FastifyInstance> => {
    const loaded = loadConfig({
      env: { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}`, ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml', ORO_SECRET: SECRET, ORO_DB_URL: dbUrl, ORO_WEBSOCKET_USER_TABLE: table },
      cwd: process.cwd()
    })
    const logger = createLogger({ mode: 'prod', level: 'warn', pretty: false, destination: new Writable({ write (_c, _e, cb) { cb() } }) })
    const app = await buildApp({ loaded, mode: 'prod', logger })
    await app.listen({ host: '127.0.0.1', port })
    return app
  }
  let app = await start()
  t.teardown(async () => { await app.close() })
  const proxyPort = await startNginx(t, port, 'slash')

  // The application: which ticket POST /sync/ticket hands out next.
  let nextTicket = (): string => makeTicket({ secret: SECRET, username: 'alice', password: alice.password })
  const server: Server = createServer((req, res) => {
    if (req.url === '/wamp-js-rule.mjs') {
      res.setHeader('content-type', 'text/javascript')
      res.end(RULE_MODULE)
      return
    }
    if (req.method === 'POST' && req.url === '/sync/ticket') {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ ticket: nextTicket() }))
      return
    }
    res.setHeader('content-type', 'text/html')
    res.end(PAGE(`ws://localhost:${proxyPort}/ws`))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const pagePort = (server.address() as { port: number }).port

  const browser = await launchChromium(t)
  const context = await browser.newContext()
  const page = await context.newPage()
  const results = async (): Promise<Results> => await page.evaluate(() => (window as unknown as { results: Results }).results)
  const welcomes = async (n: number): Promise<void> => { await page.waitForFunction((n) => (window as unknown as { results: Results }).results.welcomes >= n, n) }
  // Digests computed to admit an upgrade: all digests but those of the checks made afterwards.
  const stats = (): { resumed: number, digests: number } => {
    const { tickets, resume } = app.authStats()
    return { resumed: tickets?.resumed ?? -1, digests: (tickets?.digests ?? -1) - (resume?.rechecks ?? 0) }
  }
  const resumeCookie = async (): Promise<{ value: string, path: string, httpOnly: boolean, sameSite: string } | undefined> =>
    (await context.cookies(`http://localhost:${proxyPort}/ws`)).find((c) => c.name === RESUME_COOKIE)
  const restart = async (): Promise<void> => {
    const before = (await results()).welcomes
    await app.close() // drops the sessions: an unclean loss, the page reconnects by itself
    app = await start()
    await welcomes(before + 1)
  }

  await page.goto(`http://localhost:${pagePort}/`)
  await welcomes(1)
  t.same(stats(), { resumed: 0, digests: 1 }, 'the first connection costs a digest')
  const cookie = await resumeCookie()
  t.ok(cookie !== undefined, 'the 101 set the cookie, through nginx')
  t.match(cookie, { path: '/ws', httpOnly: true, sameSite: 'Strict' }, 'scoped to the path the browser used (the FRONTEND DSN\'s /ws), HttpOnly, SameSite=Strict')

  // 1. A restart: the browser sends the cookie back with its fresh ticket and skips the digest.
  await restart()
  t.same(stats(), { resumed: 1, digests: 0 }, 'after the restart: admitted by the cookie, no digest')
  // The resumed ticket's digest is still checked in the background; a real ticket passes.
  const { tickets, resume } = app.authStats()
  t.equal(resume?.rechecks, 1)
  await t.resolves(async () => {
    while ((app.authStats().tickets?.verified ?? 0) < 2) await new Promise((resolve) => setTimeout(resolve, 20))
  }, 'the check afterwards ends')
  t.equal(tickets?.resumed, 1)
  t.equal(app.authStats().resume?.rechecksFailed, 0)
  t.equal(app.sessions.size, 1, 'the session stays')

  // 2. Another user's ticket with alice's cookie: the full check.
  nextTicket = () => makeTicket({ secret: SECRET, username: 'bob', password: bob.password })
  await restart()
  t.same(stats(), { resumed: 0, digests: 1 }, 'bob\'s ticket with alice\'s cookie: a digest')
  t.same([...app.sessions].map((s) => s.user), ['bob'])
  nextTicket = () => makeTicket({ secret: SECRET, username: 'alice', password: alice.password })

  // 3-5. An expired cookie, a forged one, one made with another secret: each gets the full check.
  const network = '127.0.0.0/24' // the browser's address as nginx forwards it (X-Forwarded-For)
  const expired = createResumeCookies({ secret: SECRET, ttlSeconds: 60, path: '/ws', now: () => Date.now() - 61_000 }).issue(network, 'alice', alice.password, false)
  const valid = createResumeCookies({ secret: SECRET, ttlSeconds: 60, path: '/ws' }).issue(network, 'alice', alice.password, false)
  const forged = valid.replace(/\.[A-Za-z0-9_-]{43};/, `.${'x'.repeat(43)};`)
  const otherSecret = createResumeCookies({ secret: 'not the secret', ttlSeconds: 60, path: '/ws' }).issue(network, 'alice', alice.password, false)
  const setCookie = async (setCookieHeader: string): Promise<void> => {
    const value = (setCookieHeader.split(';')[0] as string).slice(RESUME_COOKIE.length + 1)
    await context.addCookies([{ name: RESUME_COOKIE, value, domain: 'localhost', path: '/ws', httpOnly: true, sameSite: 'Strict' }])
  }
  // The gateway's own valid cookie, set by hand the same way: resumes (the check above is not vacuous).
  await setCookie(valid)
  await restart()
  t.same(stats(), { resumed: 1, digests: 0 }, 'a valid cookie set by hand resumes')
  for (const [what, header] of [['expired', expired], ['forged', forged], ['another secret', otherSecret]] as const) {
    await setCookie(header)
    await restart()
    t.same(stats(), { resumed: 0, digests: 1 }, `a cookie ${what}: the full check`)
  }

  // 6. A bad ticket: refused with 401 where the cookie does not hold (here: a forged cookie) ...
  await setCookie(forged)
  const bad = (): string => encodeTicket(`${'A'.repeat(86)}==;alice;0123456789abcdef;${phpDate(new Date())}`)
  const refused = await page.evaluate(async ([url, ticket]) => await new Promise<boolean>((resolve) => {
    const ws = new WebSocket(`${url}?ticket=${encodeURIComponent(ticket)}`, ['wamp'])
    ws.onopen = () => { ws.close(); resolve(false) }
    ws.onerror = () => { resolve(true) }
  }), [`ws://localhost:${proxyPort}/ws`, bad()] as const)
  t.equal(refused, true, 'a bad ticket with a forged cookie is refused')
  // ... and with a valid cookie, admitted then closed by the digest checked afterwards (1008, a
  // clean close: Oro's code does not retry it); the cookie then resumes nothing more.
  await setCookie(valid)
  nextTicket = bad
  const closesBefore = (await results()).closes.length
  await restart()
  t.same(stats().resumed, 1, 'the valid cookie admitted the bad ticket at first')
  await page.waitForFunction((n) => (window as unknown as { results: Results }).results.closes.length > n, closesBefore + 1)
  t.same((await results()).closes.at(-1), { code: 1008, wasClean: true }, 'closed once its digest failed')
  t.equal(app.authStats().resume?.rechecksFailed, 1)
  t.equal(app.authStats().resume?.revoked, 1, 'that cookie is revoked')
  t.equal(app.sessions.size, 0)
})
