// Fair admission to ticket verification (src/auth/admission.ts), the client networks it counts
// in (address-bucket.ts), the digest pool's two lanes and the cache of forged tickets: unit tests
// with a fixed clock, exact counts and orders, no timing.
import { test } from 'tap'
import { Admission } from '../src/auth/admission.js'
import { addressBucket } from '../src/access/address-bucket.js'
import { createDigestPool, SUSPECT_TURN } from '../src/auth/digest-pool.js'
import { createTicketVerifier } from '../src/auth/ticket.js'
import { createUserStore } from '../src/auth/user-store.js'
import { makeTicket, phpDate } from './helpers/tickets.js'
import { createPgUsers, needsPostgres } from './helpers/databases.js'
import pg from 'pg'

const postgres = await needsPostgres()

test('client networks: IPv4 /24, IPv6 /64, mapped IPv4 as IPv4', async (t) => {
  t.equal(addressBucket('203.0.113.9'), '203.0.113.0/24')
  t.equal(addressBucket('::ffff:203.0.113.200'), '203.0.113.0/24')
  t.equal(addressBucket('2001:db8:1:2::5'), '2001:db8:1:2::/64')
  t.equal(addressBucket('2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64')
  t.equal(addressBucket('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(addressBucket('::1'), '0:0:0:0::/64')
  t.equal(addressBucket('fe80::1%eth0'), 'fe80:0:0:0::/64')
  t.equal(addressBucket('unknown'), 'unknown')
})

test('per-client pending limit: 429 past it, others unaffected, trusted backends exempt', async (t) => {
  const gate = new Admission({ maxPending: 100, maxPendingPerClient: 2, failuresPerMinute: 10, now: () => 0 })
  const a1 = gate.enter('a')
  const a2 = gate.enter('a')
  t.match(gate.enter('a'), { admitted: false, reason: 'client-pending', retryAfterSeconds: 1 })
  t.match(gate.enter('b'), { admitted: true, lane: 'clean' }, 'another client still gets in')
  const backend = gate.enter('a', true)
  t.match(backend, { admitted: true }, 'a trusted (backend) connection is not held to it')
  if (!a1.admitted || !a2.admitted || !backend.admitted) throw new Error('not admitted')
  backend.release('ok')
  a1.release('ok')
  a1.release('ok') // twice is harmless
  t.match(gate.enter('a'), { admitted: true }, 'a slot freed is a slot again')
  t.equal(gate.stats.refused['client-pending'], 1)
})

test('failures: a failing client turns suspect, is refused past its budget, and recovers as the bucket refills', async (t) => {
  let now = 0
  const gate = new Admission({ maxPending: 100, maxPendingPerClient: 100, failuresPerMinute: 3, now: () => now })
  const fail = (client: string): void => {
    const entry = gate.enter(client)
    if (!entry.admitted) throw new Error(`refused: ${entry.reason}`)
    entry.release('failed')
  }
  fail('bad')
  t.match(gate.enter('bad'), { admitted: true, lane: 'suspect' }, 'after one failure the client waits in the suspect lane')
  t.match(gate.enter('good'), { admitted: true, lane: 'clean' })
  fail('bad'); fail('bad')
  const refused = gate.enter('bad')
  t.match(refused, { admitted: false, reason: 'client-failures' })
  t.equal(refused.admitted ? 0 : refused.retryAfterSeconds, 20, 'three a minute: the next one in 20 s')
  now += 20_000
  t.match(gate.enter('bad'), { admitted: true, lane: 'suspect' }, 'one token back after 20 s')
  now += 60_000
  t.match(gate.enter('bad'), { admitted: true, lane: 'clean' }, 'a full minute later it is clean again')
  t.equal(gate.stats.failingClients, 0, 'and forgotten')
  const neutral = gate.enter('db')
  if (neutral.admitted) neutral.release('neutral')
  t.match(gate.enter('db'), { admitted: true, lane: 'clean' }, 'a neutral outcome (database down) does not count')
})

test('suspect clients together get a bounded share of the queue; clean ones keep room', async (t) => {
  const gate = new Admission({ maxPending: 16, maxPendingPerClient: 100, failuresPerMinute: 1000, now: () => 0 })
  for (let i = 0; i < 5; i++) {
    const e = gate.enter(`bad${i}`)
    if (e.admitted) e.release('failed')
  }
  const held = []
  for (let i = 0; i < 5; i++) held.push(gate.enter(`bad${i}`))
  t.same(held.map((e) => e.admitted), [true, true, false, false, false], 'maxPending / 8 = 2 suspect verifications at once')
  t.match(held[2], { reason: 'suspect-lane' })
  const clean = Array.from({ length: 14 }, (_, i) => gate.enter(`good${i}`))
  t.ok(clean.every((e) => e.admitted), 'the other 14 places are there for clean clients')
  t.match(gate.enter('good-late'), { admitted: false, reason: 'busy' }, 'and the whole queue is bounded')
})

test('failure records are bounded: the client that failed longest ago is forgotten first', async (t) => {
  const gate = new Admission({ maxPending: 10, maxPendingPerClient: 10, failuresPerMinute: 5, maxClients: 3, now: () => 0 })
  for (const client of ['a', 'b', 'c', 'd']) {
    const e = gate.enter(client)
    if (e.admitted) e.release('failed')
  }
  t.equal(gate.stats.failingClients, 3)
  t.match(gate.enter('a'), { lane: 'clean' }, 'a was evicted')
  t.match(gate.enter('d'), { lane: 'suspect' })
})

test('digest pool: the suspect lane gets one dispatch in SUSPECT_TURN while clean work waits', async (t) => {
  const pool = createDigestPool({ size: 1, inlineWhenIdle: false })
  t.teardown(() => pool.close())
  await pool.digest('warm-up')
  const order: string[] = []
  const jobs: Array<Promise<void>> = []
  // Queued in one turn: the worker takes two at once, the rest wait in their lanes.
  for (let i = 0; i < 40; i++) jobs.push(pool.digest(`s${i}`, 'suspect').then(() => { order.push('s') }))
  for (let i = 0; i < 40; i++) jobs.push(pool.digest(`c${i}`, 'clean').then(() => { order.push('c') }))
  t.equal(pool.stats.suspectWaiting, 38)
  await Promise.all(jobs)
  // Two suspect jobs went to the worker before any clean one arrived; after that, while clean
  // work waited, every SUSPECT_TURN-th dispatch was a suspect one.
  const contested = `${'c'.repeat(SUSPECT_TURN - 1)}s`
  t.equal(order.slice(0, order.lastIndexOf('c') + 1).join(''), `ss${contested.repeat(5)}ccccc`)
  t.equal(order.length, 80)
})

test('a forged ticket replayed costs no second digest', async (t) => {
  const NOW = Date.UTC(2026, 0, 1, 10, 0, 0)
  const v = createTicketVerifier({ secret: 's', now: () => NOW, digestPool: createDigestPool({ size: 0 }) })
  t.teardown(() => v.close())
  const forged = makeTicket({ secret: 'another secret', created: phpDate(new Date(NOW)) })
  for (let i = 0; i < 3; i++) await t.rejects(v.verify(forged), { code: 'GW_ERR_TICKET_INVALID' })
  t.equal(v.stats.digests, 1, 'one digest for three attempts')
  t.equal(v.stats.refusedFromCache, 2)
})

test('a refused user ticket is checked again once the user\'s password is another', postgres, async (t) => {
  const { url, table } = await createPgUsers(t)
  const users = createUserStore(url, { table, cacheSeconds: 0 })
  t.teardown(() => users.close())
  const v = createTicketVerifier({ secret: 's', digestPool: createDigestPool({ size: 0 }), users })
  t.teardown(() => v.close())
  const ticket = makeTicket({ secret: 's', username: 'bob', password: 'the new hash' })
  await t.rejects(v.verify(ticket), { code: 'GW_ERR_TICKET_INVALID' })
  await t.rejects(v.verify(ticket), { code: 'GW_ERR_TICKET_INVALID' })
  t.equal(v.stats.digests, 1, 'the second refusal came from the cache')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query(`UPDATE ${table} SET password = 'the new hash' WHERE username = 'bob'`)
  await client.end()
  t.same(await v.verify(ticket), { anonymous: false, userId: 8, username: 'bob' })
  t.equal(v.stats.digests, 2)
})
