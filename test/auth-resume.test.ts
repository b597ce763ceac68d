// Session resumption by cookie (src/auth/resume-cookie.ts, docs/auth.md "Resuming sessions"): the
// cookie itself (what it binds, what it refuses, its attributes), then the verifier admitting a
// well-formed, in-window ticket by it without a digest, with users from a real PostgreSQL.
import { test } from 'tap'
import { createResumeCookies, cookieValue, RESUME_COOKIE } from '../src/auth/resume-cookie.js'
import { createTicketVerifier } from '../src/auth/ticket.js'
import { createDigestPool } from '../src/auth/digest-pool.js'
import { createUserStore } from '../src/auth/user-store.js'
import { encodeTicket, makeTicket, phpDate } from './helpers/tickets.js'
import { createPgUsers, needsPostgres, USERS } from './helpers/databases.js'
import pg from 'pg'

const postgres = await needsPostgres()

const SECRET = 'ThisTokenIsNotSoSecretChangeIt'
const NOW = Date.UTC(2026, 0, 1, 10, 0, 0)
const NET = '203.0.113.0/24'
const ALICE = USERS.find((u) => u.username === 'alice') as (typeof USERS)[number]

/** The Cookie header a browser sends back for a Set-Cookie value. */
function asCookieHeader (setCookie: string, others = 'PHPSESSID=abc; theme=dark'): string {
  return `${others}; ${setCookie.split(';')[0] as string}`
}

test('the cookie binds network, user and password hash to an expiry, under ORO_SECRET', async (t) => {
  let now = NOW
  const cookies = createResumeCookies({ secret: SECRET, ttlSeconds: 600, path: '/ws', now: () => now })
  const set = cookies.issue(NET, 'alice', ALICE.password, false)
  t.match(set, new RegExp(`^${RESUME_COOKIE}=2\\.\\d+\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]{43}; Path=/ws; Max-Age=600; HttpOnly; SameSite=Strict$`))
  t.notMatch(set, /alice|\$2y/, 'neither the user nor the hash can be read from it')
  t.ok(set.length <= 150, `small (${set.length} characters)`)
  t.match(cookies.issue(NET, 'alice', ALICE.password, true), /; Secure$/, 'Secure over TLS')
  const header = asCookieHeader(set)

  t.equal(cookies.check(header, NET, 'alice', ALICE.password) !== undefined, true, 'the same browser, user, network and password')
  t.equal(cookies.check(header, NET, 'bob', ALICE.password) !== undefined, false, 'another user')
  t.equal(cookies.check(header, '198.51.100.0/24', 'alice', ALICE.password) !== undefined, false, 'another network (a stolen cookie used elsewhere)')
  t.equal(cookies.check(header, NET, 'alice', '$2y$13$the-new-hash') !== undefined, false, 'the user changed password')
  t.equal(cookies.check(undefined, NET, 'alice', ALICE.password) !== undefined, false, 'no Cookie header')
  t.equal(cookies.check('PHPSESSID=abc', NET, 'alice', ALICE.password) !== undefined, false, 'no cookie of ours')

  const other = createResumeCookies({ secret: 'another secret', ttlSeconds: 600, path: '/ws', now: () => now })
  t.equal(other.check(header, NET, 'alice', ALICE.password) !== undefined, false, 'made with another ORO_SECRET')
  t.equal(cookies.check(asCookieHeader(other.issue(NET, 'alice', ALICE.password, false)), NET, 'alice', ALICE.password) !== undefined, false, 'and the other way round')

  // Forgeries: one MAC character changed, a later expiry with the old MAC, junk, an oversize value.
  const value = cookieValue(header, RESUME_COOKIE) as string
  const [, expiry, chain, mac] = value.split('.') as [string, string, string, string]
  const flipped = `${mac.slice(0, 10)}${mac[10] === 'A' ? 'B' : 'A'}${mac.slice(11)}`
  t.equal(cookies.check(`${RESUME_COOKIE}=2.${expiry}.${chain}.${flipped}`, NET, 'alice', ALICE.password) !== undefined, false, 'a MAC with one character changed')
  t.equal(cookies.check(`${RESUME_COOKIE}=2.${Number(expiry) + 60}.${chain}.${mac}`, NET, 'alice', ALICE.password) !== undefined, false, 'a longer expiry with the old MAC')
  t.equal(cookies.check(`${RESUME_COOKIE}=2.${expiry}.${'A'.repeat(16)}.${mac}`, NET, 'alice', ALICE.password) !== undefined, false, 'another chain with the old MAC')
  t.equal(cookies.check(`${RESUME_COOKIE}=1.${expiry}.${mac}`, NET, 'alice', ALICE.password) !== undefined, false, 'another version (v1 cookies are no longer accepted)')
  t.equal(cookies.check(`${RESUME_COOKIE}=${'A'.repeat(5000)}`, NET, 'alice', ALICE.password) !== undefined, false, 'oversize')
  t.equal(cookies.check(`${RESUME_COOKIE}=2.${expiry}.${chain}.${mac}=`, NET, 'alice', ALICE.password) !== undefined, false, 'trailing junk')

  // Expiry: valid until the signed second, then not; a cookie dated beyond this gateway's TTL is refused.
  now = NOW + 599_000
  t.equal(cookies.check(header, NET, 'alice', ALICE.password) !== undefined, true, 'one second before it expires')
  now = NOW + 600_000
  t.equal(cookies.check(header, NET, 'alice', ALICE.password) !== undefined, false, 'expired')
  const longLived = createResumeCookies({ secret: SECRET, ttlSeconds: 86_400, path: '/ws', now: () => NOW })
  now = NOW
  t.equal(cookies.check(asCookieHeader(longLived.issue(NET, 'alice', ALICE.password, false)), NET, 'alice', ALICE.password) !== undefined, false, 'a cookie valid beyond this gateway\'s lifetime')

  // Revoked (a ticket it resumed failed the digest check): the whole chain, until it expires.
  t.equal(cookies.check(header, NET, 'alice', ALICE.password), chain, 'check names the chain')
  t.equal(cookies.revoked, 0)
  cookies.revoke(header)
  t.equal(cookies.revoked, 1)
  t.equal(cookies.check(header, NET, 'alice', ALICE.password) !== undefined, false, 'revoked')
  const fresh = asCookieHeader(cookies.issue(NET, 'alice', ALICE.password, false).replace(/2\.(\d+)/, (_m, e: string) => `2.${Number(e) - 1}`))
  t.equal(cookies.check(fresh, NET, 'alice', ALICE.password) !== undefined, false, 'a hand-edited expiry is not another valid cookie')
  const another = asCookieHeader(cookies.issue(NET, 'alice', ALICE.password, false))
  t.type(cookies.check(another, NET, 'alice', ALICE.password), 'string', 'a ticket verified by its digest starts a new chain, not revoked')
  t.not(cookies.check(another, NET, 'alice', ALICE.password), chain)
})

test('the cookie\'s Path is the FRONTEND path, or / when it could end the attribute or the header', async (t) => {
  const issue = (path: string): string => createResumeCookies({ secret: SECRET, ttlSeconds: 60, path }).issue(NET, '', SECRET, false)
  t.match(issue('/ws'), /; Path=\/ws;/)
  t.match(issue('/oro/ws-2'), /; Path=\/oro\/ws-2;/)
  t.match(issue('/'), /; Path=\/;/)
  for (const bad of ['/ws; Domain=evil.example', '/ws\r\nX-Injected: 1', 'ws', '/w s']) {
    const header = issue(bad)
    t.match(header, /; Path=\/; Max-Age=60;/, `${JSON.stringify(bad)} gives Path=/`)
    t.notMatch(header, /evil|Injected|\r|\n/)
  }
  const cookies = createResumeCookies({ secret: SECRET, ttlSeconds: 60, path: '/ws' })
  t.equal(cookies.present(undefined), false)
  t.equal(cookies.present('PHPSESSID=1'), false)
  t.equal(cookies.present(asCookieHeader(cookies.issue(NET, '', SECRET, false))), true)
  // Only a cookie worth a resume check gets admission's resume turn: junk, expired and revoked
  // ones are not (nothing is looked up for them ahead of the queue).
  t.equal(cookies.present('oro_ws_resume=junk'), false, 'malformed')
  let clock = 1_000_000
  const dated = createResumeCookies({ secret: SECRET, ttlSeconds: 60, path: '/ws', now: () => clock })
  const header = asCookieHeader(dated.issue(NET, '', SECRET, false))
  clock += 61_000
  t.equal(dated.present(header), false, 'expired')
  clock -= 61_000
  dated.revoke(header)
  t.equal(dated.present(header), false, 'revoked')
})

test('cookieValue reads one cookie out of a Cookie header', async (t) => {
  t.equal(cookieValue('a=1; oro_ws_resume=x.y; b=2', RESUME_COOKIE), 'x.y')
  t.equal(cookieValue('oro_ws_resume=first; oro_ws_resume=second', RESUME_COOKIE), 'first', 'the first one (the most specific path)')
  t.equal(cookieValue('xoro_ws_resume=1', RESUME_COOKIE), undefined)
  t.equal(cookieValue('', RESUME_COOKIE), undefined)
  t.equal(cookieValue(undefined, RESUME_COOKIE), undefined)
})

test('the verifier admits by cookie only a well-formed, in-window ticket of an existing, enabled user, without a digest', postgres, async (t) => {
  const { url, table } = await createPgUsers(t)
  const users = createUserStore(url, { table, cacheSeconds: 0 })
  t.teardown(() => users.close())
  const pool = createDigestPool({ size: 0 })
  const v = createTicketVerifier({ secret: SECRET, now: () => NOW, digestPool: pool, users })
  t.teardown(() => v.close())
  const cookies = createResumeCookies({ secret: SECRET, ttlSeconds: 600, path: '/ws', now: () => NOW })
  const at = (offset: number): string => phpDate(new Date(NOW + offset * 1000))
  const aliceCookie = asCookieHeader(cookies.issue(NET, 'alice', ALICE.password, false))
  const resume = (header: string | undefined) => (username: string, password: string) => cookies.check(header, NET, username, password) !== undefined

  // A ticket whose digest is wrong (a thief's, or garbage of the right shape): admitted by the cookie.
  const wrongDigest = encodeTicket(`${'A'.repeat(86)}==;alice;0123456789abcdef;${at(0)}`)
  const resumed = await v.verifyOrResume(wrongDigest, 'clean', resume(aliceCookie))
  t.match(resumed, { identity: { anonymous: false, username: 'alice', userId: 7 }, resumed: true, username: 'alice', password: ALICE.password })
  t.equal(pool.stats.computed, 0, 'no digest')
  t.equal(v.stats.resumed, 1)
  // ... and refused by the later check without the cookie: the caller closes that session.
  await t.rejects(v.verify(wrongDigest, 'suspect'), { code: 'GW_ERR_TICKET_INVALID' })
  t.equal(pool.stats.computed, 1)
  t.match(await v.verifyOrResume(wrongDigest, 'clean', resume(aliceCookie)).catch((e: unknown) => e), { code: 'GW_ERR_TICKET_INVALID' }, 'a ticket known forged is refused, cookie or not')

  // Every check but the digest still applies.
  await t.rejects(v.verifyOrResume(encodeTicket(`${'A'.repeat(86)}==;alice;0123456789abcdef;${at(-301)}`), 'clean', resume(aliceCookie)), { code: 'GW_ERR_TICKET_EXPIRED' })
  await t.rejects(v.verifyOrResume(encodeTicket(`${'A'.repeat(86)}==;alice;0123456789abcdef;${at(31)}`), 'clean', resume(aliceCookie)), { code: 'GW_ERR_TICKET_FUTURE' })
  await t.rejects(v.verifyOrResume(encodeTicket('alice;alice'), 'clean', resume(aliceCookie)), { code: 'GW_ERR_TICKET_MALFORMED' })
  await t.rejects(v.verifyOrResume(undefined, 'clean', resume(aliceCookie)), { code: 'GW_ERR_TICKET_MISSING' })
  t.equal(v.stats.resumed, 1, 'none of these resumed')

  // Alice's cookie with bob's ticket: the full check (bob's real ticket passes, a forged one not).
  const bob = USERS.find((u) => u.username === 'bob') as (typeof USERS)[number]
  const before = pool.stats.computed
  t.match(await v.verifyOrResume(makeTicket({ secret: SECRET, username: 'bob', password: bob.password, created: at(0) }), 'clean', resume(aliceCookie)), { identity: { username: 'bob' }, resumed: false })
  await t.rejects(v.verifyOrResume(encodeTicket(`${'B'.repeat(86)}==;bob;0123456789abcdef;${at(0)}`), 'clean', resume(aliceCookie)), { code: 'GW_ERR_TICKET_INVALID' })
  t.equal(pool.stats.computed, before + 2, 'two digests')

  // A disabled user's cookie admits nothing; a password change voids the cookie.
  const carol = USERS.find((u) => u.username === 'carol') as (typeof USERS)[number]
  const carolCookie = asCookieHeader(cookies.issue(NET, 'carol', carol.password, false))
  await t.rejects(v.verifyOrResume(encodeTicket(`${'A'.repeat(86)}==;carol;0123456789abcdef;${at(0)}`), 'clean', resume(carolCookie)), { code: 'GW_ERR_USER_DISABLED' })
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  await client.query(`UPDATE ${table} SET password = 'changed' WHERE username = 'alice'`)
  const other = encodeTicket(`${'C'.repeat(86)}==;alice;0123456789abcdef;${at(0)}`)
  await t.rejects(v.verifyOrResume(other, 'clean', resume(aliceCookie)), { code: 'GW_ERR_TICKET_INVALID' }, 'after a password change the cookie admits nothing')
  t.equal(v.stats.resumed, 1)
})

test('the 101 carries the cookie: Path from the FRONTEND DSN, Secure only when the browser\'s connection is TLS', async (t) => {
  const { startApp } = await import('./helpers/app.js')
  const { rawUpgrade } = await import('./helpers/raw-upgrade.js')
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_FRONTEND_DSN: '//*:443/oro-ws' }, 'prod', 'warn')
  const ticket = encodeURIComponent(makeTicket({ secret: SECRET }))
  const upgrade = async (headers: Record<string, string>): Promise<string | string[] | undefined> => {
    const answer = await rawUpgrade(gw.port, `/?ticket=${ticket}`, { Origin: 'http://localhost', ...headers })
    answer.destroy()
    t.equal(answer.status, 101)
    return answer.headers['set-cookie']
  }
  const plain = await upgrade({})
  t.match(plain, [new RegExp(`^${RESUME_COOKIE}=2\\.\\d+\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]{43}; Path=/oro-ws; Max-Age=43200; HttpOnly; SameSite=Strict$`)], 'plain ws: no Secure')
  // Loopback is a trusted proxy by default: its X-Forwarded-Proto counts.
  t.match(await upgrade({ 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' }), [/; Secure$/], 'behind a TLS proxy: Secure')
  t.match(await upgrade({ 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'http' }), [/SameSite=Strict$/])

  const off = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_RESUME_TTL: '0' }, 'prod', 'warn')
  const answer = await rawUpgrade(off.port, `/?ticket=${ticket}`, { Origin: 'http://localhost' })
  answer.destroy()
  t.equal(answer.status, 101)
  t.equal(answer.headers['set-cookie'], undefined, 'ORO_WEBSOCKET_RESUME_TTL=0: no cookie')
})
