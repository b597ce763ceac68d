// Upgrades waiting in admission whose browser hangs up (a FIN: Node keeps an upgrade's socket
// half-open, so it is never 'destroyed') give their place up at once, over real sockets: they
// neither hold the waiting room until their turn nor cost a digest when it comes.
import { test } from 'tap'
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { startApp } from './helpers/app.js'
import { rawUpgrade } from './helpers/raw-upgrade.js'
import { makeTicket } from './helpers/tickets.js'
import { createPgUsers, needsPostgres, PG_URL } from './helpers/databases.js'

const postgres = await needsPostgres()
const SECRET = 'gone-secret'

async function until (what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** An upgrade request sent on a raw socket, so the test can hang up before the answer. */
async function sendUpgrade (port: number, ticket: string, address: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.on('error', () => {})
  socket.write(`GET /?ticket=${encodeURIComponent(ticket)} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Protocol: wamp\r\n` +
    `Origin: http://localhost\r\nX-Forwarded-For: ${address}\r\n\r\n`)
  return socket
}

test('browsers that hang up while their upgrade waits leave the queue at once and cost no verification', postgres, async (t) => {
  const { url, table } = await createPgUsers(t)
  // One digest worker: eight verifications at once (admission's concurrency).
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_DB_URL: url, ORO_WEBSOCKET_USER_TABLE: table, ORO_WEBSOCKET_DIGEST_WORKERS: '1' }, 'prod', 'warn')
  const admission = (): ReturnType<typeof gw.app.authStats>['admission'] => gw.app.authStats().admission
  // The user table locked: user tickets' lookups hold every verification slot until it is released.
  const locker = new pg.Client({ connectionString: PG_URL })
  await locker.connect()
  t.teardown(async () => { await locker.end() })
  await locker.query('BEGIN')
  await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`)
  const held = await Promise.all(Array.from({ length: 8 }, async (_, i) =>
    await sendUpgrade(gw.port, makeTicket({ secret: SECRET, username: `ghost${i}`, password: 'x' }), `198.51.100.${i + 1}`)))
  t.teardown(() => { for (const s of held) s.destroy() })
  await until('eight verifications holding every slot', () => admission().running === 8)

  const leaving = await Promise.all(Array.from({ length: 5 }, async (_, i) =>
    await sendUpgrade(gw.port, makeTicket({ secret: SECRET }), `203.0.113.${i + 1}`)))
  await until('five upgrades waiting', () => admission().waiting === 5)
  for (const s of leaving) s.end() // a FIN, as a closing tab sends
  await until('the waiting room empty', () => admission().waiting === 0)
  await locker.query('COMMIT')
  await until('the held verifications done', () => admission().running === 0)
  t.equal(admission().refused.gone, 5, 'each one that hung up was withdrawn, not verified')
  const after = await rawUpgrade(gw.port, `/?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`, { Origin: 'http://localhost', 'X-Forwarded-For': '203.0.113.99' })
  after.destroy()
  t.equal(after.status, 101, 'the node still admits')
  for (const s of leaving) s.destroy()
})
