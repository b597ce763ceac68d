// Who may open a WebSocket session, decided before the upgrade: the Origin check, fair admission
// to ticket verification (per-client limits, see src/auth/admission.ts), Oro's ticket (anonymous,
// or a user from Oro's database), and whether the session is a backend that may publish (from a
// backend network, straight, not through a proxy, with a valid ticket).
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createTicketVerifier, type TicketVerifierStats } from '../src/auth/ticket.js'
import type { DatabaseUserStore, UserStoreStats } from '../src/auth/user-store.js'
import { logDatabaseStatus } from '../src/auth/database-log.js'
import { Admission, type AdmissionStats, type RefusalReason } from '../src/auth/admission.js'
import { ANONYMOUS, type Identity } from '../src/auth/identity.js'
import { addressBucket } from '../src/access/address-bucket.js'
import { clientAddress } from '../src/access/client-address.js'
import { normalizeAddress } from '../src/access/networks.js'
import { mayPublish } from '../src/access/backend-publisher.js'
import { originHost } from '../src/access/origin.js'
import { OriginRefresh } from '../src/access/origin-refresh.js'
import { RefusalLog } from '../src/access/refusal-log.js'
import { clip } from '../src/log-throttle.js'
import { ConfigError } from '../src/config/errors.js'
import { GW_ERR_AUTH_BUSY, GW_ERR_AUTH_RATE_LIMITED, GW_ERR_ORIGIN_FORBIDDEN, GW_ERR_USERS_NOT_CONFIGURED } from '../src/errors.js'
import type { UpgradeDecision } from './websocket.js'
import type { GatewayLogger } from '../src/logger.js'
import { upgradeRefused } from '../src/metrics.js'
import { createResumeCookies, setCookieOnUpgrade, type ResumeCookies } from '../src/auth/resume-cookie.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Checks an upgrade request; throws the GW_ERR_* answer when it is refused. */
    admitUpgrade (request: FastifyRequest, reply: FastifyReply): Promise<UpgradeDecision>
    /** Ticket, admission and database counters (digests computed, cache hits, queries sent). */
    authStats (): { tickets?: TicketVerifierStats, users?: UserStoreStats, admission: AdmissionStats, resume?: { revoked: number, rechecks: number, rechecksFailed: number } }
    /** Reads the allowed origins from Oro's configuration, when they come from there (null otherwise). */
    originRefresh: OriginRefresh | null
  }
}

const REFUSAL_TEXT: Record<RefusalReason, { what: string, setting: string }> = {
  busy: { what: 'upgrades being verified at once', setting: 'ORO_WEBSOCKET_AUTH_QUEUE' },
  'client-pending': { what: 'upgrades being verified at once', setting: 'ORO_WEBSOCKET_AUTH_PENDING_PER_CLIENT' },
  'client-failures': { what: 'failed tickets', setting: 'ORO_WEBSOCKET_AUTH_FAILURES' },
  'suspect-lane': { what: 'upgrades being verified for networks that sent failed tickets', setting: 'ORO_WEBSOCKET_AUTH_QUEUE' }
}

async function authPlugin (fastify: FastifyInstance): Promise<void> {
  const { secret, databaseUrl, access, tickets } = fastify.gateway
  const log = fastify.log as unknown as GatewayLogger
  // Origin refusals once per origin per minute; everything else once per kind and network.
  const originLog = new RefusalLog(log)
  const refusalLog = new RefusalLog(log)

  let users: DatabaseUserStore | undefined
  let verifier: ReturnType<typeof createTicketVerifier> | undefined
  // Session resumption (docs/auth.md): a cookie set with the 101 spares a reconnect the digest.
  let resumeCookies: ResumeCookies | undefined
  // Digests of resumed sessions' tickets started afterwards, and those that failed.
  let rechecks = 0
  let rechecksFailed = 0
  if (secret === undefined) {
    if (fastify.mode === 'prod') {
      throw new ConfigError('ORO_SECRET', 'is not set; --env=prod needs it to verify the tickets of WebSocket clients', 'ORO_SECRET=<the secret of your Oro application>')
    }
    log.warn('ORO_SECRET is not set: TICKETS ARE NOT CHECKED and every client connects as anonymous (development mode only; never run like this in production)')
  } else {
    if (databaseUrl !== undefined) {
      // The database drivers (pg, mysql2: ~25 MB) load only when ORO_DB_URL is set.
      const { createUserStore } = await import('../src/auth/user-store.js')
      const store = createUserStore(databaseUrl, { table: fastify.config.ORO_WEBSOCKET_USER_TABLE, onStatus: (status, previous) => { logStatus(status, previous) } })
      const logStatus = logDatabaseStatus(log, store.display)
      users = store
      // Checked at start and, while down, every few seconds: readiness comes back without traffic.
      fastify.readiness.register('database', () => store.readiness())
      store.monitor()
    } else {
      log.warn('ORO_DB_URL is not set: only anonymous tickets can be verified; logged-in users are refused')
    }
    const poolSize = fastify.config.ORO_WEBSOCKET_DIGEST_WORKERS
    const ttl = fastify.config.ORO_WEBSOCKET_RESUME_TTL
    if (ttl > 0) resumeCookies = createResumeCookies({ secret, ttlSeconds: ttl, path: `/${fastify.gateway.frontend.path}` })
    verifier = createTicketVerifier({ secret, lifetimeSeconds: tickets.lifetimeSeconds, skewSeconds: tickets.skewSeconds, ...(users !== undefined ? { users } : {}), ...(poolSize !== undefined ? { poolSize } : {}) })
  }
  const admission = new Admission({
    maxPending: fastify.config.ORO_WEBSOCKET_AUTH_QUEUE,
    maxPendingPerClient: fastify.config.ORO_WEBSOCKET_AUTH_PENDING_PER_CLIENT,
    failuresPerMinute: fastify.config.ORO_WEBSOCKET_AUTH_FAILURES
  })
  fastify.decorate('authStats', () => ({
    ...(verifier !== undefined ? { tickets: { ...verifier.stats } } : {}),
    ...(users !== undefined ? { users: { ...users.stats } } : {}),
    admission: admission.stats,
    ...(resumeCookies !== undefined ? { resume: { revoked: resumeCookies.revoked, rechecks, rechecksFailed } } : {})
  }))
  // Origins as Oro decides them: the hosts of the application and website URLs in its database,
  // unless ORO_WEBSOCKET_ALLOWED_ORIGINS replaces the list.
  let originRefresh: OriginRefresh | null = null
  if (databaseUrl !== undefined && access.origins.extendable) {
    const table = fastify.config.ORO_WEBSOCKET_USER_TABLE
    // Oro's tables live together: the configuration tables are where the user table is.
    const schema = table.includes('.') ? table.slice(0, table.indexOf('.')) : undefined
    originRefresh = new OriginRefresh({
      source: (await import('../src/access/oro-config-origins.js')).createOroOriginSource(databaseUrl, schema === undefined ? {} : { schema }),
      policy: access.origins,
      intervalMs: fastify.config.ORO_WEBSOCKET_ORIGINS_REFRESH * 1000,
      log
    })
    await originRefresh.start()
  } else {
    log.notice({ origins: access.origins.entries }, `Allowed origins: ${access.origins.entries.join(', ')}`)
  }
  fastify.decorate('originRefresh', originRefresh)
  fastify.addHook('onClose', async () => {
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
      upgradeRefused('origin_forbidden')
      const shown = origin === undefined ? '(none)' : clip(origin)
      const host = originHost(origin)
      originLog.write('warn', `origin ${shown}`, {
        origin: shown,
        address,
        setting: host === undefined ? 'ORO_WEBSOCKET_ALLOWED_ORIGINS' : `ORO_WEBSOCKET_ALLOWED_ORIGINS=+${clip(host, 100)}`
      }, 'Client rejected, bad origin')
      throw new GW_ERR_ORIGIN_FORBIDDEN(origin === undefined ? '(none)' : JSON.stringify(clip(origin, 100)))
    }
    // Direct from a backend network, or through a trusted proxy for one (src/access/backend-publisher.ts).
    const canPublish = mayPublish(peer, headers, access)
    if (verifier === undefined) return { identity: ANONYMOUS, canPublish, address }

    // Each new ticket costs ~5 ms of a worker's CPU: admission decides whether this client may
    // have one verified now, and in which lane (see admission.ts). Refusals cost nothing.
    const network = addressBucket(address)
    const entry = admission.enter(network, canPublish)
    if (!entry.admitted) {
      upgradeRefused(entry.reason === 'busy' || entry.reason === 'suspect-lane' ? 'auth_busy' : 'auth_rate_limited')
      reply.header('Retry-After', String(entry.retryAfterSeconds))
      const { what, setting } = REFUSAL_TEXT[entry.reason]
      refusalLog.write('warn', `${entry.reason} ${network}`, { address, network, reason: entry.reason, setting },
        `Authentication refused: too many ${what} (${setting})`)
      throw entry.reason === 'busy' || entry.reason === 'suspect-lane'
        ? new GW_ERR_AUTH_BUSY()
        : new GW_ERR_AUTH_RATE_LIMITED(`${what} (${setting})`, entry.retryAfterSeconds)
    }
    const ticket = (request.query as Record<string, unknown>).ticket
    let identity: Identity
    let recheck: Promise<boolean> | undefined
    try {
      const given = typeof ticket === 'string' ? ticket : undefined
      if (resumeCookies === undefined) {
        identity = await verifier.verify(given, entry.lane)
      } else {
        const cookies = resumeCookies
        const cookieHeader = headers.cookie
        const verification = await verifier.verifyOrResume(given, entry.lane, cookies.present(cookieHeader)
          ? (username, password) => cookies.check(cookieHeader, network, username, password)
          : undefined)
        identity = verification.identity
        if (verification.resumed) recheck = recheckLater(verifier, given, cookieHeader, address, network)
        // Secure when the browser's connection is TLS: ours, or a trusted proxy's (X-Forwarded-Proto).
        const secure = (request.raw.socket as { encrypted?: boolean }).encrypted === true ||
          (headers['x-forwarded-proto'] === 'https' && peer !== undefined && access.trustedProxies.has(normalizeAddress(peer)))
        setCookieOnUpgrade(request.raw, cookies.issue(network, verification.username, verification.password, secure))
      }
      entry.release('ok')
    } catch (caught) {
      upgradeRefused((caught as { code?: string }).code)
      // Without ORO_DB_URL a user's ticket cannot be checked: the gateway's fault, not the user's.
      const err = users === undefined && (caught as { code?: string }).code === 'GW_ERR_USER_UNKNOWN' ? new GW_ERR_USERS_NOT_CONFIGURED() : caught
      const error = err as Error & { statusCode?: number, code?: string }
      // Only the client's own mistakes count against it; a database outage is ours.
      entry.release(error.statusCode === 401 ? 'failed' : 'neutral')
      if (error.statusCode === 503) reply.header('Retry-After', error.code === 'GW_ERR_SHUTTING_DOWN' ? '2' : '5')
      // A database failure's detail (login refused, host, table) is for the log, not the answer.
      const detail = (error as { detail?: string }).detail
      refusalLog.write('info', `${error.code ?? 'error'} ${network}`, { address, code: error.code }, `Authentication failed: ${error.message}${detail !== undefined ? ` (${detail})` : ''}`)
      throw err
    }
    return { identity, canPublish, address, ...(recheck !== undefined ? { recheck } : {}) }
  })

  // A resumed session's ticket still gets its digest, in the pool's low-priority lane once the
  // storm has passed: false (the session is then closed) when the ticket was forged; its cookie
  // resumes nothing more. Never rejects: a database outage or a shutdown keeps the session.
  async function recheckLater (tickets: NonNullable<typeof verifier>, ticket: string | undefined, cookieHeader: string | undefined, address: string, network: string): Promise<boolean> {
    rechecks++
    try {
      await tickets.verify(ticket, 'suspect')
      return true
    } catch (caught) {
      const error = caught as { statusCode?: number, code?: string, message?: string }
      if (error.statusCode !== 401) return true
      rechecksFailed++
      resumeCookies?.revoke(cookieHeader)
      refusalLog.write('warn', `recheck ${network}`, { address, code: error.code }, `Resumed session closed: its ticket failed the digest check (${error.message ?? ''})`)
      return false
    }
  }
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['config', 'readiness'] })
