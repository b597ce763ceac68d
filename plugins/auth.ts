// Who may open a WebSocket session, decided before the upgrade: the Origin check, fair admission
// to ticket verification (queues per client network, see src/auth/admission.ts), Oro's ticket
// (anonymous, or a user from Oro's database; one ticket opens ORO_WEBSOCKET_SESSIONS_PER_TICKET
// browser sessions), the resume cookie and its later digest check (resume-recheck.ts), and whether
// the session is a backend that may publish (from a backend network, straight, not through a
// proxy, with a valid ticket).
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createTicketVerifier, type TicketVerifierStats } from '../src/auth/ticket.js'
import type { DatabaseUserStore, UserStoreStats } from '../src/auth/user-store.js'
import { logDatabaseStatus } from '../src/auth/database-log.js'
import { Admission, type AdmissionStats, type RefusalReason } from '../src/auth/admission.js'
import { parseTicket } from '../src/auth/ticket-format.js'
import { TtlCache } from '../src/auth/ttl-cache.js'
import { defaultPoolSize } from '../src/auth/digest-pool.js'
import { createHash } from 'node:crypto'
import { ANONYMOUS, type Identity } from '../src/auth/identity.js'
import { addressAggregate, addressBucket } from '../src/access/address-bucket.js'
import { clientAddress } from '../src/access/client-address.js'
import { normalizeAddress } from '../src/access/networks.js'
import { mayPublish } from '../src/access/backend-publisher.js'
import { originHost } from '../src/access/origin.js'
import { OriginRefresh } from '../src/access/origin-refresh.js'
import { RefusalLog } from '../src/access/refusal-log.js'
import { clip } from '../src/log-throttle.js'
import { ConfigError } from '../src/config/errors.js'
import { GW_ERR_AUTH_BUSY, GW_ERR_AUTH_RATE_LIMITED, GW_ERR_AUTH_WAIT_TOO_LONG, GW_ERR_ORIGIN_FORBIDDEN, GW_ERR_SHUTTING_DOWN, GW_ERR_TICKET_REUSED, GW_ERR_USERS_NOT_CONFIGURED } from '../src/errors.js'
import type { UpgradeDecision } from './websocket.js'
import { ResumeRechecks, type RecheckResult } from '../src/auth/resume-recheck.js'
import type { GatewayLogger } from '../src/logger.js'
import { createResumeCookies, setCookieOnUpgrade, type ResumeCookies } from '../src/auth/resume-cookie.js'
import { SecretMismatchWatch, secretMismatchMessage } from '../src/auth/secret-mismatch.js'

// Oro's .env-app ships this secret; an application still using it signs tickets anyone can make.
const ORO_SAMPLE_SECRET = 'ThisTokenIsNotSoSecretChangeIt'

declare module 'fastify' {
  interface FastifyInstance {
    /** Checks an upgrade request; throws the GW_ERR_* answer when it is refused. */
    admitUpgrade (request: FastifyRequest, reply: FastifyReply): Promise<UpgradeDecision>
    /** Ticket, admission and database counters (digests computed, cache hits, queries sent). */
    authStats (): { tickets?: TicketVerifierStats, users?: UserStoreStats, admission: AdmissionStats, resume?: { revoked: number, rechecks: number, rechecksFailed: number, rechecksLate: number } }
    /** Reads the allowed origins from Oro's configuration, when they come from there (null otherwise). */
    originRefresh: OriginRefresh | null
  }
}

const REFUSAL_SETTING: Record<Exclude<RefusalReason, 'gone' | 'closed'>, string> = {
  busy: 'ORO_WEBSOCKET_AUTH_QUEUE',
  wait: 'ORO_WEBSOCKET_AUTH_MAX_WAIT',
  'client-pending': 'ORO_WEBSOCKET_AUTH_PENDING_PER_CLIENT',
  'client-failures': 'ORO_WEBSOCKET_AUTH_FAILURES',
  'suspect-lane': 'ORO_WEBSOCKET_AUTH_QUEUE'
}

/**
 * The username of a ticket as admission keys it, without verifying anything; undefined when the
 * ticket cannot be read. Anyone can write any username: a long one is keyed by its hash, so the
 * failure records stay small.
 */
function ticketUsername (ticket: string | undefined): string | undefined {
  let username: string
  try {
    username = parseTicket(ticket).username
  } catch {
    return undefined
  }
  return username.length <= 64 ? username : `#${createHash('sha256').update(username).digest('base64url')}`
}

async function authPlugin (fastify: FastifyInstance): Promise<void> {
  const { secret, databaseUrl, access, tickets, auth } = fastify.gateway
  const log = fastify.log as unknown as GatewayLogger
  const stats = fastify.stats
  // Origin refusals once per origin per minute; everything else once per kind and network.
  const originLog = new RefusalLog(log)
  const refusalLog = new RefusalLog(log)

  let users: DatabaseUserStore | undefined
  // Origins from Oro's configuration, when they come from there (set below).
  let originRefresh: OriginRefresh | null = null
  let verifier: ReturnType<typeof createTicketVerifier> | undefined
  // Session resumption (docs/auth.md): a cookie set with the 101 spares a reconnect the digest.
  let resumeCookies: ResumeCookies | undefined
  if (secret === undefined) {
    if (fastify.mode === 'prod') {
      throw new ConfigError('ORO_SECRET', 'is not set; --env=prod needs it to verify the tickets of WebSocket clients', 'ORO_SECRET=<the secret of your Oro application>')
    }
    log.warn('ORO_SECRET is not set: TICKETS ARE NOT CHECKED and every client connects as anonymous (development mode only; never run like this in production)')
  } else {
    if (databaseUrl !== undefined) {
      // The database drivers (pg, mysql2: ~25 MB) load only when ORO_DB_DSN or ORO_DB_URL is set.
      const { createUserStore } = await import('../src/auth/user-store.js')
      const store = createUserStore(databaseUrl, {
        table: auth.userTable,
        setting: fastify.gateway.databaseSetting,
        onStatus: (status, previous) => {
          logStatus(status, previous)
          // The database answers again: Oro's origins at once, not at the next periodic read.
          if (status.state === 'up' && previous.state === 'down') void originRefresh?.refresh()
        }
      })
      const logStatus = logDatabaseStatus(log, store.display)
      users = store
      // Checked at start and, while down, every few seconds: readiness comes back without traffic.
      fastify.readiness.register('database', () => store.readiness())
      store.monitor()
    } else {
      log.warn('ORO_DB_URL (or ORO_DB_DSN) is not set: only anonymous tickets can be verified; logged-in users are refused')
    }
    const poolSize = auth.digestWorkers
    const ttl = auth.resumeTtlSeconds
    if (ttl > 0) resumeCookies = createResumeCookies({ secret, ttlSeconds: ttl, path: `/${fastify.gateway.frontend.path}` })
    if (secret === ORO_SAMPLE_SECRET && fastify.mode === 'prod') {
      log.warn({ setting: 'ORO_SECRET' }, `ORO_SECRET is Oro's sample secret (${ORO_SAMPLE_SECRET}, from Oro's .env-app): anyone can make tickets this gateway accepts; give the Oro application a secret of its own (ORO_SECRET in its .env-app.local) and restart it and the gateway`)
    }
    verifier = createTicketVerifier({ secret, lifetimeSeconds: tickets.lifetimeSeconds, skewSeconds: tickets.skewSeconds, ...(users !== undefined ? { users } : {}), ...(poolSize !== undefined ? { poolSize } : {}) })
  }
  // Most tickets failing their digest means a wrong ORO_SECRET far more often than an attack.
  const mismatch = new SecretMismatchWatch({ report: (counts) => { log.warn({ ...counts, setting: 'ORO_SECRET' }, secretMismatchMessage(counts)) } })
  const workers = auth.digestWorkers ?? defaultPoolSize()
  const admission = new Admission({
    maxWaiting: auth.queue,
    maxWaitSeconds: auth.maxWaitSeconds,
    maxPendingPerSuspect: auth.pendingPerClient,
    failuresPerMinute: auth.failuresPerMinute,
    // Enough verifications at once to keep every digest worker busy while others wait on the
    // database; the order among the rest is admission's (fair), not the pool's.
    concurrency: Math.max(8, 4 * workers)
  })
  // Sessions each ticket opened while valid (by the ticket's hash: the ticket is a credential).
  const perTicket = auth.sessionsPerTicket
  const ticketUses = new TtlCache<number>(100_000)
  // Resumed sessions' digest checks, inside admission, within ORO_WEBSOCKET_RESUME_VERIFY_TIMEOUT.
  const rechecks = verifier === undefined || resumeCookies === undefined
    ? undefined
    : new ResumeRechecks({
      admission,
      verify: verifier.verify,
      revoke: resumeCookies.revoke,
      timeoutMs: auth.resumeVerifyTimeoutMs,
      onForged: (error) => { refusalLog.write('warn', 'recheck', { code: error.code }, `Resumed session closed and its cookie chain revoked: its ticket failed the digest check (${error.message ?? ''})`) }
    })
  fastify.decorate('authStats', () => ({
    ...(verifier !== undefined ? { tickets: { ...verifier.stats } } : {}),
    ...(users !== undefined ? { users: { ...users.stats } } : {}),
    admission: admission.stats,
    ...(resumeCookies !== undefined && rechecks !== undefined ? { resume: { revoked: resumeCookies.revoked, rechecks: rechecks.stats.started, rechecksFailed: rechecks.stats.failed, rechecksLate: rechecks.stats.late } } : {})
  }))
  // Origins as Oro decides them: the hosts of the application and website URLs in its database,
  // unless ORO_WEBSOCKET_ALLOWED_ORIGINS replaces the list. Until they are loaded the gateway is
  // not ready: a browser of the application URL would be refused.
  if (databaseUrl !== undefined && access.origins.extendable) {
    const table = auth.userTable
    // Oro's tables live together: the configuration tables are where the user table is.
    const schema = table.includes('.') ? table.slice(0, table.indexOf('.')) : undefined
    const refresh = new OriginRefresh({
      source: (await import('../src/access/oro-config-origins.js')).createOroOriginSource(databaseUrl, schema === undefined ? {} : { schema }),
      policy: access.origins,
      intervalMs: auth.originsRefreshMs,
      setting: fastify.gateway.databaseSetting,
      secrets: [(await import('../src/auth/database-url.js')).parseDatabaseUrl(databaseUrl).password],
      log
    })
    originRefresh = refresh
    fastify.readiness.register('origins', () => refresh.readiness())
    await refresh.start()
  } else {
    log.notice({ origins: access.origins.entries }, `Allowed origins: ${access.origins.entries.join(', ')}`)
  }
  fastify.decorate('originRefresh', originRefresh)
  // Upgrades still waiting for their turn when the node drains get 503 at once (they retry).
  fastify.readiness.onDrain(() => { admission.close() })
  fastify.addHook('onClose', async () => {
    admission.close()
    await originRefresh?.stop()
    await verifier?.close()
    await users?.close()
  })

  fastify.decorate('admitUpgrade', async function admitUpgrade (request: FastifyRequest, reply: FastifyReply): Promise<UpgradeDecision> {
    const headers = request.headers
    const peer = request.raw.socket.remoteAddress
    const address = clientAddress(peer, headers, access.trustedProxies)
    const origin = headers.origin
    if (!access.origins.allows(origin)) {
      stats.upgradeRefused('origin_forbidden')
      const shown = origin === undefined ? '(none)' : clip(origin)
      const host = originHost(origin)
      // Oro's origins not loaded (its database not readable): that is the cause, not the override.
      const missing = originRefresh?.problem
      if (missing !== undefined) {
        originLog.write('warn', `origin ${shown}`, { origin: shown, address, setting: missing.setting, database: missing.summary },
          `Client rejected, bad origin: Oro's allowed origins (the hosts of its application URL) are not loaded: its database (${missing.setting}) cannot be read: ${missing.summary}; ${missing.hint}`)
      } else {
        originLog.write('warn', `origin ${shown}`, {
          origin: shown,
          address,
          setting: host === undefined ? 'ORO_WEBSOCKET_ALLOWED_ORIGINS' : `ORO_WEBSOCKET_ALLOWED_ORIGINS=+${clip(host, 100)}`
        }, 'Client rejected, bad origin')
      }
      throw new GW_ERR_ORIGIN_FORBIDDEN(origin === undefined ? '(none)' : JSON.stringify(clip(origin, 100)))
    }
    // Direct from a backend network, or through a trusted proxy for one (src/access/backend-publisher.ts).
    const canPublish = mayPublish(peer, headers, access)
    if (verifier === undefined) return { identity: ANONYMOUS, canPublish, address }

    // Each new ticket costs ~5 ms of a worker's CPU: the upgrade waits its network's turn (see
    // admission.ts), in the lane its network's and user's record says. Refusals cost nothing.
    const network = addressBucket(address)
    const ticket = (request.query as Record<string, unknown>).ticket
    const given = typeof ticket === 'string' ? ticket : undefined
    const socket = request.raw.socket
    const who = { network, aggregate: addressAggregate(address), username: ticketUsername(given), trusted: canPublish }
    // A client that hangs up while it waits gives its place up at once (see admission.ts). A
    // browser hangs up with a FIN: after an upgrade Node keeps the socket half-open, so 'end' (not
    // 'close', nor `destroyed`) is what says it left; no WebSocket client half-closes on purpose.
    const entry = await admission.enter({
      ...who,
      alive: () => !socket.destroyed && !socket.readableEnded,
      watchGone: (listener) => {
        socket.once('end', listener)
        socket.once('close', listener)
        return () => {
          socket.off('end', listener)
          socket.off('close', listener)
        }
      }
    })
    if (!entry.admitted) throw refuse(entry.reason, entry.retryAfterSeconds, reply, address, network)
    let identity: Identity
    let recheck: Promise<RecheckResult> | undefined
    try {
      if (resumeCookies === undefined) {
        identity = await verifier.verify(given, entry.lane)
      } else {
        const cookies = resumeCookies
        const cookieHeader = headers.cookie
        let chain: string | undefined
        const verification = await verifier.verifyOrResume(given, entry.lane, cookies.present(cookieHeader)
          ? (username, password) => {
              chain = cookies.check(cookieHeader, network, username, password)
              return chain !== undefined && rechecks?.mayResume(chain) === true
            }
          : undefined)
        identity = verification.identity
        if (verification.resumed && chain !== undefined && rechecks !== undefined) {
          recheck = rechecks.check({ ticket: given, cookieHeader, chain, who: { network, aggregate: who.aggregate, username: who.username, alive: () => !socket.destroyed } })
        } else {
          // Secure when the browser's connection is TLS: ours, or a trusted proxy's (X-Forwarded-Proto).
          const secure = (socket as { encrypted?: boolean }).encrypted === true ||
            (headers['x-forwarded-proto'] === 'https' && peer !== undefined && access.trustedProxies.has(normalizeAddress(peer)))
          setCookieOnUpgrade(request.raw, cookies.issue(network, verification.username, verification.password, secure))
        }
      }
      // Resumed is not verified yet: neither a success nor a failure until its recheck says so.
      entry.release(recheck === undefined ? 'ok' : 'neutral')
      mismatch.accepted()
    } catch (caught) {
      stats.upgradeRefused((caught as { code?: string }).code)
      // Without ORO_DB_URL a user's ticket cannot be checked: the gateway's fault, not the user's.
      const err = users === undefined && (caught as { code?: string }).code === 'GW_ERR_USER_UNKNOWN' ? new GW_ERR_USERS_NOT_CONFIGURED() : caught
      const error = err as Error & { statusCode?: number, code?: string }
      // Only the client's own mistakes count against it; a database outage is ours.
      entry.release(error.statusCode === 401 ? 'failed' : 'neutral')
      if (error.code === 'GW_ERR_TICKET_INVALID') mismatch.failed(network, isAnonymous(ticket))
      if (error.statusCode === 503) reply.header('Retry-After', error.code === 'GW_ERR_SHUTTING_DOWN' ? '2' : '5')
      // A database failure's detail (login refused, host, table) is for the log, not the answer.
      const detail = (error as { detail?: string }).detail
      refusalLog.write('info', `${error.code ?? 'error'} ${network}`, { address, code: error.code }, `Authentication failed: ${error.message}${detail !== undefined ? ` (${detail})` : ''}`)
      throw err
    }
    // One ticket, one page: Oro fetches a new ticket for every connection attempt.
    if (perTicket > 0 && !canPublish && given !== undefined) countTicketUse(given, address, network, reply)
    return { identity, canPublish, address, ...(recheck !== undefined ? { recheck } : {}) }
  })

  function refuse (reason: RefusalReason, retryAfterSeconds: number, reply: FastifyReply, address: string, network: string): Error {
    reply.header('Retry-After', String(retryAfterSeconds))
    // The client hung up while it waited: nobody reads the answer.
    if (reason === 'gone') return new GW_ERR_AUTH_BUSY('the client left while it waited')
    if (reason === 'closed') {
      stats.upgradeRefused('shutting_down')
      return new GW_ERR_SHUTTING_DOWN()
    }
    const setting = REFUSAL_SETTING[reason]
    const limited = reason === 'client-pending' || reason === 'client-failures'
    stats.upgradeRefused(limited ? 'auth_rate_limited' : 'auth_busy')
    const what = reason === 'client-failures' ? 'failed tickets' : reason === 'client-pending' ? 'upgrades waiting after failed tickets' : reason === 'wait' ? 'upgrades waiting' : 'upgrades waiting or being verified'
    refusalLog.write('warn', `${reason} ${network}`, { address, network, reason, setting }, `Authentication refused: too many ${what} (${setting})`)
    if (limited) return new GW_ERR_AUTH_RATE_LIMITED(`${what} (${setting})`, retryAfterSeconds)
    if (reason === 'wait') return new GW_ERR_AUTH_WAIT_TOO_LONG(retryAfterSeconds * 2, auth.maxWaitSeconds)
    return new GW_ERR_AUTH_BUSY(setting)
  }

  function countTicketUse (ticket: string, address: string, network: string, reply: FastifyReply): void {
    const key = createHash('sha256').update(ticket).digest('base64url')
    const now = Date.now()
    const used = ticketUses.get(key, now) ?? 0
    if (used >= perTicket) {
      stats.upgradeRefused('GW_ERR_TICKET_REUSED')
      reply.header('Retry-After', '1')
      refusalLog.write('notice', `reused ${network}`, { address, network, setting: 'ORO_WEBSOCKET_SESSIONS_PER_TICKET' }, `Upgrade refused: its ticket already opened ${used} sessions (ORO_WEBSOCKET_SESSIONS_PER_TICKET)`)
      throw new GW_ERR_TICKET_REUSED(used)
    }
    // Remembered as long as a ticket can be valid (its lifetime and the skew allowed).
    ticketUses.set(key, used + 1, now + (tickets.lifetimeSeconds + tickets.skewSeconds + 1) * 1000)
  }
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['config', 'readiness'] })

/** Whether a ticket (already found well-formed) names no user. */
function isAnonymous (ticket: unknown): boolean {
  try {
    return parseTicket(typeof ticket === 'string' ? ticket : undefined).username === ''
  } catch {
    return false
  }
}
