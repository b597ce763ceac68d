// Crowds are not floods (issue 17), over real sockets: an office of pages behind one address
// (through the trusted loopback proxy, X-Forwarded-For) gets in with no refusal; one ticket opens
// at most ORO_WEBSOCKET_SESSIONS_PER_TICKET browser sessions; a stolen resume cookie cannot be
// chained with forged tickets (the attack an outside run found: 12 of 12 admitted).
import { test } from 'tap'
import { request } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { startApp } from './helpers/app.js'
import { rawUpgrade, forgedTicket } from './helpers/raw-upgrade.js'
import { makeTicket } from './helpers/tickets.js'
import { createPgUsers, needsPostgres, USERS } from './helpers/databases.js'

const postgres = await needsPostgres()
const SECRET = 'crowd-secret'
const OFFICE = '198.51.100.23'
const alice = USERS.find((u) => u.username === 'alice') as (typeof USERS)[number]

const browser = (address: string, extra: Record<string, string> = {}): Record<string, string> =>
  ({ Origin: 'http://localhost', 'X-Forwarded-For': address, ...extra })

test('an office: 300 pages behind one address with fresh tickets all connect, none refused', async (t) => {
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_DIGEST_WORKERS: '1' }, 'prod', 'warn')
  const answers = await Promise.all(Array.from({ length: 300 }, async () =>
    await rawUpgrade(gw.port, `/?ticket=${encodeURIComponent(makeTicket({ secret: SECRET }))}`, browser(OFFICE))))
  for (const a of answers) a.destroy()
  const statuses = new Map<number, number>()
  for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1)
  t.same(Object.fromEntries(statuses), { 101: 300 }, 'all 300 upgraded: no 429 for an office\'s own pages')
  t.same(gw.app.authStats().admission.refused, { busy: 0, wait: 0, 'client-pending': 0, 'client-failures': 0, 'suspect-lane': 0, gone: 0, closed: 0 })
})

test('one ticket, one page: a browser ticket opens ORO_WEBSOCKET_SESSIONS_PER_TICKET sessions, then 429', async (t) => {
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_SESSIONS_PER_TICKET: '2' }, 'prod', 'warn')
  const ticket = encodeURIComponent(makeTicket({ secret: SECRET }))
  const first = await rawUpgrade(gw.port, `/?ticket=${ticket}`, browser(OFFICE))
  const second = await rawUpgrade(gw.port, `/?ticket=${ticket}`, browser('203.0.113.5'))
  const third = await rawUpgrade(gw.port, `/?ticket=${ticket}`, browser(OFFICE))
  first.destroy(); second.destroy()
  t.same([first.status, second.status, third.status], [101, 101, 429])
  t.match(JSON.parse(third.body), { code: 'GW_ERR_TICKET_REUSED', message: /ORO_WEBSOCKET_SESSIONS_PER_TICKET/ })
  // The PHP backend (direct from a backend network) is not counted.
  const backends = await Promise.all([1, 2, 3].map(async () => await rawUpgrade(gw.port, `/?ticket=${ticket}`, { Origin: '127.0.0.1' })))
  for (const b of backends) b.destroy()
  t.same(backends.map((b) => b.status), [101, 101, 101])
  const unlimited = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_SESSIONS_PER_TICKET: '0' }, 'prod', 'warn')
  const many = await Promise.all([1, 2, 3, 4].map(async () => await rawUpgrade(unlimited.port, `/?ticket=${ticket}`, browser(OFFICE))))
  for (const m of many) m.destroy()
  t.same(many.map((m) => m.status), [101, 101, 101, 101], '0 = no limit')
})

/** Walks the server's (unmasked) frames: true once a close frame (opcode 8) is among them. */
function hasCloseFrame (bytes: Buffer): boolean {
  let at = 0
  while (at + 2 <= bytes.length) {
    const opcode = (bytes[at] as number) & 0x0f
    let length = (bytes[at + 1] as number) & 0x7f
    let header = 2
    if (length === 126) { if (at + 4 > bytes.length) return false; length = bytes.readUInt16BE(at + 2); header = 4 }
    if (length === 127) { if (at + 10 > bytes.length) return false; length = Number(bytes.readBigUInt64BE(at + 2)); header = 10 }
    if (opcode === 8) return true
    at += header + length
  }
  return false
}

interface Session { status: number, setCookie: string | undefined, socket: Socket | undefined, ended: Promise<{ closeFrame: boolean }> }

/** An upgrade that keeps its socket: how it ends tells a close frame (0x88) from a dropped TCP connection. */
async function upgrade (port: number, path: string, headers: Record<string, string>): Promise<Session> {
  return await new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path, agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': 'wamp', ...headers }
    })
    req.once('upgrade', (res, socket, head) => {
      // The WELCOME (and a close frame right after it) may come with the 101: in head.
      let bytes = head
      let closeFrame = false
      const seen = (chunk: Buffer): void => {
        bytes = Buffer.concat([bytes, chunk])
        if (hasCloseFrame(bytes)) {
          closeFrame = true
          socket.destroy()
        }
      }
      seen(Buffer.alloc(0))
      socket.on('data', seen)
      const ended = new Promise<{ closeFrame: boolean }>((resolve) => { socket.once('close', () => { resolve({ closeFrame }) }) })
      const set = res.headers['set-cookie']
      resolve({ status: res.statusCode ?? 0, setCookie: set?.[0], socket, ended })
    })
    req.once('response', (res) => {
      res.resume()
      const set = res.headers['set-cookie']
      resolve({ status: res.statusCode ?? 0, setCookie: set?.[0], socket: undefined, ended: Promise.resolve({ closeFrame: false }) })
    })
    req.once('error', reject)
    req.end()
  })
}

const cookieOf = (setCookie: string): string => setCookie.split(';')[0] as string

test('a stolen resume cookie plus forged tickets, repeated with the newest cookie: one session at most, closed; the chain is revoked', postgres, async (t) => {
  const { url, table } = await createPgUsers(t)
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_DB_URL: url, ORO_WEBSOCKET_USER_TABLE: table }, 'prod', 'warn')
  // The victim's page: a real ticket, a cookie with the 101.
  const victim = await upgrade(gw.port, `/?ticket=${encodeURIComponent(makeTicket({ secret: SECRET, username: 'alice', password: alice.password }))}`, browser('203.0.113.9'))
  t.equal(victim.status, 101)
  t.type(victim.setCookie, 'string', 'the victim got a cookie')
  let cookie = cookieOf(victim.setCookie as string)

  // The attacker: on the victim's network (the cookie binds it), the cookie and a forged ticket for alice.
  const admitted: number[] = []
  for (let attempt = 0; attempt < 4; attempt++) {
    // Once a second, as the attack did: a cookie issued a second later has another expiry and MAC.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const s = await upgrade(gw.port, `/?ticket=${encodeURIComponent(forgedTicket('alice'))}`, browser('203.0.113.77', { Cookie: cookie }))
    if (s.status === 101) {
      admitted.push(attempt)
      const end = await s.ended
      t.equal(end.closeFrame, true, 'the forged session is closed (1008) once its digest is checked')
    }
    // What today's code did: every resumed 101 set a fresh cookie, and the attacker used the newest.
    if (s.setCookie !== undefined) cookie = cookieOf(s.setCookie)
  }
  t.ok(admitted.length <= 1, `at most the first forged attempt gets a session (admitted: ${admitted.join(', ')})`)
  t.equal(gw.app.authStats().resume?.rechecksFailed, admitted.length)
  // The chain is revoked: even the victim's own cookie now needs the full check (a real ticket passes it).
  const back = await upgrade(gw.port, `/?ticket=${encodeURIComponent(makeTicket({ secret: SECRET, username: 'alice', password: alice.password }))}`, browser('203.0.113.9', { Cookie: cookieOf(victim.setCookie as string) }))
  t.equal(back.status, 101)
  t.type(back.setCookie, 'string', 'verified by its digest: a new chain')
  back.socket?.destroy()
  victim.socket?.destroy()
})

test('a resumed session gets no new cookie and the same cookie never outlives its first expiry', postgres, async (t) => {
  const { url, table } = await createPgUsers(t)
  const gw = await startApp(t, { ORO_SECRET: SECRET, ORO_DB_URL: url, ORO_WEBSOCKET_USER_TABLE: table }, 'prod', 'warn')
  const ticket = (): string => encodeURIComponent(makeTicket({ secret: SECRET, username: 'alice', password: alice.password }))
  const first = await upgrade(gw.port, `/?ticket=${ticket()}`, browser('203.0.113.9'))
  const resumed = await upgrade(gw.port, `/?ticket=${ticket()}`, browser('203.0.113.9', { Cookie: cookieOf(first.setCookie as string) }))
  t.equal(resumed.status, 101)
  t.equal(resumed.setCookie, undefined, 'no fresh cookie: the expiry is not pushed forward')
  t.equal(gw.app.authStats().tickets?.resumed, 1)
  // The recheck passes: the session stays (it is dropped only when not verified in time).
  while ((gw.app.authStats().resume?.rechecks ?? 0) < 1 || (gw.app.authStats().tickets?.verified ?? 0) < 3) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(resumed.socket?.destroyed, false)
  first.socket?.destroy()
  resumed.socket?.destroy()
})
