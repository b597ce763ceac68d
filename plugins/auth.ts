// What decides who may open a WebSocket session, built from the settings: Oro's ticket verifier
// (and its database of users), fair admission to verification (src/auth/admission.ts), resume
// cookies and their later digest checks, Oro's allowed origins. The order they are asked in, for
// each upgrade, is src/upgrade/authenticate.ts (the upgrade's "decide" step calls it).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createTicketVerifier, type TicketVerifierStats } from '../src/auth/ticket.js'
import type { DatabaseUserStore, UserStoreStats } from '../src/auth/user-store.js'
import { logDatabaseStatus } from '../src/auth/database-log.js'
import { Admission, type AdmissionStats } from '../src/auth/admission.js'
import { defaultPoolSize } from '../src/auth/digest-pool.js'
import { OriginRefresh } from '../src/access/origin-refresh.js'
import { RefusalLog } from '../src/access/refusal-log.js'
import { ConfigError } from '../src/config/errors.js'
import { ResumeRechecks } from '../src/auth/resume-recheck.js'
import type { GatewayLogger } from '../src/logger.js'
import { createResumeCookies, type ResumeCookies } from '../src/auth/resume-cookie.js'
import { SecretMismatchWatch, secretMismatchMessage } from '../src/auth/secret-mismatch.js'
import { createAuthenticator } from '../src/upgrade/authenticate.js'
import type { Authenticate } from '../src/upgrade/decision.js'

// Oro's .env-app ships this secret; an application still using it signs tickets anyone can make.
const ORO_SAMPLE_SECRET = 'ThisTokenIsNotSoSecretChangeIt'

declare module 'fastify' {
  interface FastifyInstance {
    /** An upgrade's origin, admission, ticket and resume cookie (src/upgrade/authenticate.ts). */
    authenticateUpgrade: Authenticate
    /** Ticket, admission and database counters (digests computed, cache hits, queries sent). */
    authStats (): { tickets?: TicketVerifierStats, users?: UserStoreStats, admission: AdmissionStats, resume?: { revoked: number, rechecks: number, rechecksFailed: number, rechecksLate: number } }
    /** Reads the allowed origins from Oro's configuration, when they come from there (null otherwise). */
    originRefresh: OriginRefresh | null
  }
}

async function authPlugin (fastify: FastifyInstance): Promise<void> {
  const { secret, databaseUrl, access, tickets, auth } = fastify.gateway
  const log = fastify.log as unknown as GatewayLogger
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

  fastify.decorate('authenticateUpgrade', createAuthenticator({
    access,
    originRefresh,
    verifier,
    usersConfigured: users !== undefined,
    admission,
    resumeCookies,
    rechecks,
    mismatch,
    perTicket: auth.sessionsPerTicket,
    tickets,
    maxWaitSeconds: auth.maxWaitSeconds,
    originLog,
    refusalLog,
    stats: fastify.stats
  }))
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['config', 'readiness'] })
