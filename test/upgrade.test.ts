// The upgrade's decide step (src/upgrade/upgrade.ts) on its own: the order of its checks, with an
// authenticate held open so the order is forced, not timed.
import { test } from 'tap'
import { Socket } from 'node:net'
import { Upgrade } from '../src/upgrade/upgrade.js'
import type { Authenticate, UpgradeDecision } from '../src/upgrade/decision.js'
import { ANONYMOUS } from '../src/auth/identity.js'
import { UserQuota } from '../src/wamp/user-quota.js'
import { WriteScheduler } from '../src/wamp/socket-writer.js'
import { LogThrottle } from '../src/log-throttle.js'
import { GatewayStats } from '../src/stats.js'
import type { SessionContext, SessionLog } from '../src/wamp/session.js'

const noLog: SessionLog = { debug () {}, info () {}, notice () {}, warn () {}, error () {} }

function upgradeWith (authenticate: Authenticate, draining: () => boolean, timings: string[] = []): Upgrade {
  return new Upgrade({
    authenticate,
    draining,
    onAuthenticated: (outcome) => { timings.push(outcome) },
    context: { stats: new GatewayStats() } as unknown as SessionContext,
    writes: new WriteScheduler(),
    quota: new UserQuota({ maxSessionsPerUser: 1, maxSubscriptionsPerUser: 10 }),
    limits: { maxFrameBytes: 1024, backendMaxFrameBytes: 4096 },
    ident: 'test',
    log: noLog,
    throttle: new LogThrottle()
  })
}

const decision: UpgradeDecision = { identity: ANONYMOUS, canPublish: false, address: '192.0.2.1' }

test('a drain that begins while a ticket is verified refuses that upgrade (503), it is not accepted after the drop loop', async (t) => {
  let draining = false
  let verifying!: () => void
  const entered = new Promise<void>((resolve) => { verifying = resolve })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const timings: string[] = []
  const upgrade = upgradeWith(async () => {
    verifying()
    await released
    return { accepted: true, decision }
  }, () => draining, timings)
  const socket = new Socket()
  const pending = upgrade.decide({ headers: {}, ticket: undefined, socket })
  await entered
  draining = true
  release()
  const verdict = await pending
  t.equal(verdict.accepted, false)
  if (verdict.accepted) return
  t.equal(verdict.error.statusCode, 503)
  t.equal(verdict.retryAfter, '2')
  t.equal(verdict.error.code, 'GW_ERR_SHUTTING_DOWN')
  t.same(timings, ['accepted'], 'the authentication itself was timed as accepted')
  // Nothing was kept for the socket: ws's 101 is not held and no session opens.
  const headers: string[] = []
  let corked = false
  socket.cork = () => { corked = true }
  upgrade.handshake(headers, { socket } as never)
  t.same(headers, [])
  t.notOk(corked, 'the 101 is not held')
  let terminated = false
  t.equal(upgrade.accept({ terminate () { terminated = true } } as never, socket), null)
  t.ok(terminated, 'a socket with no decision is terminated')
  t.equal(upgrade.sessions.size, 0, 'no session was opened')
  socket.destroy()
})

test('draining at the start refuses without asking authenticate; a refusal is timed as refused', async (t) => {
  let asked = 0
  const upgrade = upgradeWith(async () => { asked++; return { accepted: true, decision } }, () => true)
  const verdict = await upgrade.decide({ headers: {}, ticket: undefined, socket: new Socket() })
  t.match(verdict, { accepted: false, retryAfter: '2', error: { code: 'GW_ERR_SHUTTING_DOWN' } })
  t.equal(asked, 0)

  const timings: string[] = []
  const failing = upgradeWith(async () => { throw new Error('a bug') }, () => false, timings)
  await t.rejects(failing.decide({ headers: {}, ticket: undefined, socket: new Socket() }), /a bug/)
  t.same(timings, ['refused'])
})

test('an accepted upgrade keeps its resume cookie for the 101, which it holds for the WELCOME', async (t) => {
  const upgrade = upgradeWith(async () => ({ accepted: true, decision: { ...decision, setCookie: 'oro_ws_resume=x; Path=/ws' } }), () => false)
  const socket = new Socket()
  let corked = 0
  socket.cork = () => { corked++ }
  const verdict = await upgrade.decide({ headers: {}, ticket: undefined, socket })
  t.equal(verdict.accepted, true)
  const headers = ['HTTP/1.1 101 Switching Protocols']
  upgrade.handshake(headers, { socket } as never)
  t.same(headers, ['HTTP/1.1 101 Switching Protocols', 'Set-Cookie: oro_ws_resume=x; Path=/ws'])
  t.equal(corked, 1)
  socket.destroy()
})
