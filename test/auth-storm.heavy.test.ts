// A reconnect storm: 2,000 user tickets verified at once against real PostgreSQL, with the worker
// pool and inline. All must pass with one digest per distinct ticket and a handful of database
// lookups. (Event-loop figures are bench/storm.mjs's job: a test asserts outcomes, not timings.)
import { test } from 'tap'
import { createTicketVerifier } from '../src/auth/ticket.js'
import { createDigestPool, defaultPoolSize } from '../src/auth/digest-pool.js'
import { createUserStore } from '../src/auth/user-store.js'
import { makeTicket } from './helpers/tickets.js'
import { createPgUsers, needsPostgres, USERS } from './helpers/databases.js'

// Probed before any test runs: a busy event loop later could time the probe out.
const postgres = await needsPostgres()

const SECRET = 'storm-secret'
const VERIFICATIONS = 2000
// Browsers re-send a ticket on each retry; STORM_DISTINCT=2000 makes every ticket new (slower).
const DISTINCT = Number(process.env.STORM_DISTINCT ?? 200)
const LOGINS = ['alice', 'bob', 'dave', 'dave.smith@example.com', 'semi;colon']

test('2,000 user tickets at once: all verified, few database lookups', { ...postgres, timeout: 240_000 }, async (t) => {
  const { url, table } = await createPgUsers(t)
  const tickets = Array.from({ length: DISTINCT }, (_, i) => {
    const login = LOGINS[i % LOGINS.length] as string
    const user = USERS.find((u) => u.username === login || u.email.toLowerCase() === login)
    return makeTicket({ secret: SECRET, username: login, password: user?.password ?? '' })
  })
  const storm = Array.from({ length: VERIFICATIONS }, (_, i) => tickets[i % tickets.length] as string)

  for (const size of [...new Set([defaultPoolSize(), 2, 0])]) {
    // Inline digests block the event loop for the whole storm; the database client's own timers
    // then fire late and report answered queries as timed out (false 503s). Wide timeouts keep
    // that run a measurement of the loop, which is what it is here for.
    const users = createUserStore(url, size === 0 ? { table, queryTimeoutMs: 600_000, connectTimeoutMs: 600_000 } : { table })
    const pool = createDigestPool({ size, inlineWhenIdle: false })
    const verifier = createTicketVerifier({ secret: SECRET, users, digestPool: pool })
    await pool.digest('warm-up')

    const identities = await Promise.all(storm.map(async (ticket) => await verifier.verify(ticket)))

    t.equal(identities.filter((identity) => !identity.anonymous).length, VERIFICATIONS, `pool ${size}: all ${VERIFICATIONS} verified`)
    t.equal(pool.stats.computed - 1, DISTINCT, `pool ${size}: one digest per distinct ticket`)
    t.ok(users.stats.queries <= LOGINS.length * 2, `pool ${size}: ${users.stats.queries} database lookups for ${VERIFICATIONS} verifications`)

    await verifier.close()
    await pool.close()
    await users.close()
  }
})
