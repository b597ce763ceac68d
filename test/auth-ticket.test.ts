// Oro tickets (oro-compat §4): made by the independent maker in helpers/tickets.ts, verified by
// src/auth with user rows from a real PostgreSQL.
import { test } from 'tap'
import { createTicketVerifier, type TicketVerifierOptions } from '../src/auth/ticket.js'
import { createDigestPool } from '../src/auth/digest-pool.js'
import { parseCreated } from '../src/auth/ticket-format.js'
import { createUserStore } from '../src/auth/user-store.js'
import { encodeTicket, makeTicket, phpDate, ticketDigest } from './helpers/tickets.js'
import { createPgUsers, needsPostgres, USERS } from './helpers/databases.js'
import pg from 'pg'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

// Probed before any test runs: a busy event loop later could time the probe out.
const postgres = await needsPostgres()

const SECRET = 'ThisTokenIsNotSoSecretChangeIt'
const NOW = Date.UTC(2026, 0, 1, 10, 0, 0)
const at = (offsetSeconds: number, tzMinutes = 0): string => phpDate(new Date(NOW + offsetSeconds * 1000), tzMinutes)
const user = (name: string): { username: string, password: string } => {
  const row = USERS.find((u) => u.username === name)
  if (row === undefined) throw new Error(`no test user ${name}`)
  return { username: row.username, password: row.password }
}

// Inline digests, a fixed clock: every count below is exact.
function verifier (t: { teardown: (fn: () => unknown) => void }, options: Partial<TicketVerifierOptions> = {}): { verifier: ReturnType<typeof createTicketVerifier>, pool: ReturnType<typeof createDigestPool> } {
  const pool = createDigestPool({ size: 0 })
  const v = createTicketVerifier({ secret: SECRET, now: () => NOW, digestPool: pool, ...options })
  t.teardown(() => v.close())
  return { verifier: v, pool }
}

test('the test ticket maker agrees with a digest computed by hand', async (t) => {
  // A second, naive implementation: 5000 rounds over the concatenated buffers.
  const { createHash } = await import('node:crypto')
  const salted = 'abc|2026-01-01T10:00:00+00:00|pw{s}'
  let d = createHash('sha512').update(salted).digest()
  for (let i = 1; i < 5000; i++) d = createHash('sha512').update(Buffer.concat([d, Buffer.from(salted)])).digest()
  t.equal(ticketDigest('abc', '2026-01-01T10:00:00+00:00', 'pw', 's'), d.toString('base64'))
})

test('an anonymous ticket is accepted', async (t) => {
  const { verifier: v } = verifier(t)
  t.same(await v.verify(makeTicket({ secret: SECRET, created: at(0) })), { anonymous: true, username: '' })
  // PHP writes the server's own offset; the digest covers the text as written.
  t.same(await v.verify(makeTicket({ secret: SECRET, created: at(0, 120) })), { anonymous: true, username: '' }, 'created with +02:00')
  t.same(await v.verify(makeTicket({ secret: SECRET, created: '2026-01-01T10:00:00Z' })), { anonymous: true, username: '' }, 'created with Z')
  t.same(await v.verify(makeTicket({ secret: SECRET, created: '2026-01-01T05:00:00-0500' })), { anonymous: true, username: '' }, 'created with -0500')
})

test('a "+" turned into a space by an unencoded query string still verifies', async (t) => {
  const { verifier: v } = verifier(t)
  // '~' at a position 2 mod 3 encodes as '+' (ASCII text alone rarely gives one).
  const ticket = makeTicket({ secret: SECRET, created: at(0), nonce: '~~~' })
  t.ok(ticket.includes('+'), 'the ticket holds a "+"')
  t.same(await v.verify(ticket.replaceAll('+', ' ')), { anonymous: true, username: '' })
})

test('creation time: within the skew and the lifetime, else expired or from the future', async (t) => {
  const { verifier: v } = verifier(t)
  t.same(await v.verify(makeTicket({ secret: SECRET, created: at(30) })), { anonymous: true, username: '' }, '30 s ahead: within skew')
  t.same(await v.verify(makeTicket({ secret: SECRET, created: at(-300) })), { anonymous: true, username: '' }, '300 s old: still valid')
  await t.rejects(v.verify(makeTicket({ secret: SECRET, created: at(31) })),
    { code: 'GW_ERR_TICKET_FUTURE', statusCode: 401, message: /2026-01-01T10:00:31\+00:00, more than 30 s ahead/ })
  await t.rejects(v.verify(makeTicket({ secret: SECRET, created: at(-301) })),
    { code: 'GW_ERR_TICKET_EXPIRED', statusCode: 401, message: /created 2026-01-01T09:54:59\+00:00, more than 300 s ago/ })
  // The offset counts: 11:00:30+01:00 is 10:00:30Z.
  t.same(await v.verify(makeTicket({ secret: SECRET, created: '2026-01-01T11:00:30+01:00' })), { anonymous: true, username: '' }, '+01:00 within skew')
  await t.rejects(v.verify(makeTicket({ secret: SECRET, created: '2026-01-01T11:00:31+01:00' })), { code: 'GW_ERR_TICKET_FUTURE' }, '+01:00 beyond skew')

  const custom = verifier(t, { lifetimeSeconds: 10, skewSeconds: 0 }).verifier
  await t.rejects(custom.verify(makeTicket({ secret: SECRET, created: at(1) })), { code: 'GW_ERR_TICKET_FUTURE', message: /more than 0 s ahead/ })
  await t.rejects(custom.verify(makeTicket({ secret: SECRET, created: at(-11) })), { code: 'GW_ERR_TICKET_EXPIRED', message: /more than 10 s ago/ })
})

test('every malformed ticket is refused with the reason', async (t) => {
  const { verifier: v, pool } = verifier(t)
  const digest = ticketDigest('n', at(0), SECRET, SECRET)
  const cases: Array<[string | undefined, string, RegExp?]> = [
    [undefined, 'GW_ERR_TICKET_MISSING'],
    ['', 'GW_ERR_TICKET_MISSING'],
    ['not base64!!', 'GW_ERR_TICKET_MALFORMED', /it is not base64/],
    ['%%%', 'GW_ERR_TICKET_MALFORMED', /it is not base64/],
    ['A'.repeat(5000), 'GW_ERR_TICKET_MALFORMED', /longer than 4096/],
    [encodeTicket('garbage'), 'GW_ERR_TICKET_MALFORMED', /four fields/],
    [encodeTicket(`${digest};;${at(0)}`), 'GW_ERR_TICKET_MALFORMED', /four fields/],
    [encodeTicket(`short;;n;${at(0)}`), 'GW_ERR_TICKET_MALFORMED', /digest is not 88 base64/],
    [encodeTicket(`${digest};;n;yesterday`), 'GW_ERR_TICKET_MALFORMED', /creation time "yesterday" is not an ISO-8601/],
    [encodeTicket(`${digest};;n;2026-01-01 10:00:00`), 'GW_ERR_TICKET_MALFORMED', /ISO-8601/],
    [encodeTicket(`${digest};;n;2026-13-01T10:00:00+00:00`), 'GW_ERR_TICKET_MALFORMED', /ISO-8601/],
    [encodeTicket(`${digest};;n;2026-01-01T10:00:00`), 'GW_ERR_TICKET_MALFORMED', /ISO-8601/]
  ]
  for (const [ticket, code, message] of cases) {
    await t.rejects(v.verify(ticket), { code, statusCode: 401, ...(message !== undefined ? { message } : {}) }, `${String(ticket).slice(0, 40)} → ${code}`)
  }
  t.equal(pool.stats.computed, 0, 'no digest is computed for a malformed ticket')
})

test('ISO-8601 creation times read as PHP strtotime reads them', async (t) => {
  t.equal(parseCreated('2026-01-01T10:00:00+00:00'), NOW / 1000)
  t.equal(parseCreated('2026-01-01T12:30:00+02:30'), NOW / 1000)
  t.equal(parseCreated('2026-01-01T10:00:00.999Z'), NOW / 1000)
  t.equal(parseCreated('2026-01-01T10:00:00+25:00'), undefined)
  t.equal(parseCreated('2026-01-01T24:00:00Z'), undefined)
})

test('a digest made with another secret or password is invalid', async (t) => {
  const { verifier: v } = verifier(t)
  await t.rejects(v.verify(makeTicket({ secret: 'another secret', created: at(0) })), { code: 'GW_ERR_TICKET_INVALID', statusCode: 401 })
  const tampered = Buffer.from(makeTicket({ secret: SECRET, created: at(0), nonce: 'aaaa' }), 'base64').toString().replace(';aaaa;', ';bbbb;')
  await t.rejects(v.verify(encodeTicket(tampered)), { code: 'GW_ERR_TICKET_INVALID' }, 'another nonce')
})

test('identical concurrent verifications share one digest; a verified ticket is cached until it expires', async (t) => {
  let now = NOW
  const pool = createDigestPool({ size: 0 })
  const v = createTicketVerifier({ secret: SECRET, now: () => now, digestPool: pool })
  t.teardown(() => v.close())
  const ticket = makeTicket({ secret: SECRET, created: at(0) })

  const results = await Promise.all(Array.from({ length: 50 }, async () => await v.verify(ticket)))
  t.ok(results.every((r) => r.anonymous), 'all 50 accepted')
  t.equal(pool.stats.computed, 1, 'one digest for 50 identical tickets')
  t.equal(v.stats.shared, 49)

  await v.verify(ticket)
  t.equal(pool.stats.computed, 1, 'the second verification later does not recompute')
  t.equal(v.stats.cacheHits, 1)

  now = NOW + 300_999
  await v.verify(ticket)
  t.equal(pool.stats.computed, 1, 'still cached at the last valid second')
  now = NOW + 301_000
  await t.rejects(v.verify(ticket), { code: 'GW_ERR_TICKET_EXPIRED' }, 'a cached ticket still expires')

  const bad = makeTicket({ secret: 'wrong', created: at(0) })
  now = NOW
  await Promise.all(Array.from({ length: 20 }, async () => await t.rejects(v.verify(bad), { code: 'GW_ERR_TICKET_INVALID' })))
  t.equal(pool.stats.computed, 2, 'identical bad tickets share one digest too')
  t.equal(v.stats.verified, 52)
})

test('the cache is bounded', async (t) => {
  const { verifier: v, pool } = verifier(t, { cacheSize: 2 })
  const tickets = ['a', 'b', 'c'].map((nonce) => makeTicket({ secret: SECRET, created: at(0), nonce }))
  for (const ticket of tickets) await v.verify(ticket)
  await v.verify(tickets[2] as string)
  await v.verify(tickets[1] as string)
  t.equal(pool.stats.computed, 3, 'the two most recent are cached')
  await v.verify(tickets[0] as string)
  t.equal(pool.stats.computed, 4, 'the oldest was evicted')
})

test('digests run in a worker thread (also under tap\'s TypeScript loader) and close() lets the process go', async (t) => {
  const v = createTicketVerifier({ secret: SECRET, now: () => NOW })
  const results = await Promise.all(['a', 'b', 'c', 'd'].map(async (nonce) => await v.verify(makeTicket({ secret: SECRET, created: at(0), nonce }))))
  t.equal(results.length, 4)
  t.same(v.stats, { verified: 4, cacheHits: 0, shared: 0, digests: 4, refusedFromCache: 0, resumed: 0 })
  await v.close()
  await v.close()

  const pool = createDigestPool({ size: 2, inlineWhenIdle: false })
  const digests = await Promise.all(['x', 'y', 'z'].map(async (nonce) => await pool.digest(`${nonce}|${at(0)}|${SECRET}{${SECRET}}`)))
  t.same(digests, ['x', 'y', 'z'].map((nonce) => ticketDigest(nonce, at(0), SECRET, SECRET)), 'same digests as the reference')
  t.match(pool.stats, { size: 2, workers: 2, pending: 0, computed: 3 })
  const pending = t.rejects(pool.digest('late'), { code: 'GW_ERR_SHUTTING_DOWN', statusCode: 503 }, 'a digest pending at close rejects: the client is told to retry, not a 500')
  await pool.close()
  await pending
  await t.rejects(pool.digest('after'), { code: 'GW_ERR_SHUTTING_DOWN' })
  t.equal(pool.stats.workers, 0)
})

const builtPool = fileURLToPath(new URL('../dist/src/auth/digest-pool.js', import.meta.url))

test('the built pool (dist/) starts its compiled worker, and idle workers never hold the process', {
  skip: existsSync(builtPool) ? false : 'run npm run build first (npm test does)'
}, async (t) => {
  // A pool that is never closed: the child must still exit once its digests are done.
  const script = `import { createDigestPool } from ${JSON.stringify(builtPool)}
const pool = createDigestPool({ size: 2, inlineWhenIdle: false })
const digests = await Promise.all(['x', 'y'].map((n) => pool.digest(n + '|c|p{s}')))
console.log(JSON.stringify({ digests, stats: pool.stats }))`
  const dir = t.testdir({ 'check.mjs': script })
  const env = { ...process.env, NODE_OPTIONS: '' }
  const { stdout } = await promisify(execFile)(process.execPath, [`${dir}/check.mjs`], { timeout: 20_000, env })
  const out = JSON.parse(stdout) as { digests: string[], stats: { workers: number } }
  t.same(out.digests, [ticketDigest('x', 'c', 'p', 's'), ticketDigest('y', 'c', 'p', 's')])
  t.equal(out.stats.workers, 2)
})

test('without a user store a user ticket names an unknown user', async (t) => {
  const { verifier: v } = verifier(t)
  await t.rejects(v.verify(makeTicket({ secret: SECRET, created: at(0), ...user('alice') })), { code: 'GW_ERR_USER_UNKNOWN', statusCode: 401 })
})

test('user tickets against Oro\'s user table in PostgreSQL', postgres, async (t) => {
  const { url, table } = await createPgUsers(t)
  const users = createUserStore(url, { table, cacheSeconds: 0 })
  t.teardown(() => users.close())
  const { verifier: v, pool } = verifier(t, { users })
  const ticket = (name: string, extra: { password?: string, login?: string } = {}): string => {
    const u = user(name)
    return makeTicket({ secret: SECRET, created: at(0), username: extra.login ?? u.username, password: extra.password ?? u.password })
  }

  t.same(await v.verify(ticket('alice')), { anonymous: false, userId: 7, username: 'alice' })
  t.same(await v.verify(ticket('bob')), { anonymous: false, userId: 8, username: 'bob' })
  t.same(await v.verify(ticket('dave', { login: 'dave.smith@EXAMPLE.com' })), { anonymous: false, userId: 10, username: 'dave' }, 'email login, any case')
  t.same(await v.verify(ticket('semi;colon')), { anonymous: false, userId: 11, username: 'semi;colon' }, 'a username with ";"')

  await t.rejects(v.verify(ticket('alice', { password: USERS[1]?.password })), { code: 'GW_ERR_TICKET_INVALID', statusCode: 401 }, 'another user\'s password')
  await t.rejects(v.verify(makeTicket({ secret: SECRET, created: at(0), username: 'mallory', password: 'x' })), { code: 'GW_ERR_USER_UNKNOWN', statusCode: 401 })
  await t.rejects(v.verify(makeTicket({ secret: SECRET, created: at(0), username: 'nobody@example.com', password: 'x' })), { code: 'GW_ERR_USER_UNKNOWN' }, 'unknown email')
  await t.rejects(v.verify(ticket('carol')), { code: 'GW_ERR_USER_DISABLED', statusCode: 401 })
  await t.rejects(v.verify(makeTicket({ secret: SECRET, created: at(0), username: 'alice', password: SECRET })), { code: 'GW_ERR_TICKET_INVALID' }, 'a user ticket signed like an anonymous one')

  // A cached ticket answers only while the user keeps the password it was signed with.
  const alice = ticket('alice')
  await v.verify(alice)
  const before = pool.stats.computed
  await v.verify(alice)
  t.equal(pool.stats.computed, before, 'cached')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  await client.query(`UPDATE ${table} SET password = 'changed' WHERE id = 7`)
  await t.rejects(v.verify(alice), { code: 'GW_ERR_TICKET_INVALID' }, 'password changed: the ticket is no longer valid')
  await client.query(`UPDATE ${table} SET password = $1, enabled = false WHERE id = 7`, [user('alice').password])
  await t.rejects(v.verify(alice), { code: 'GW_ERR_USER_DISABLED' }, 'user disabled after the ticket was cached')
})
