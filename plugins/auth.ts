// Who may open a WebSocket session, decided before the upgrade: the Origin check, Oro's ticket
// (anonymous, or a user from Oro's database), and whether the session is a backend that may
// publish (from a backend network, straight, not through a proxy, with a valid ticket).
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createTicketVerifier, type TicketIdentity, type TicketVerifierStats } from '../src/auth/ticket.js'
import { createUserStore, type DatabaseUserStore, type UserStoreStats } from '../src/auth/user-store.js'
import { logDatabaseStatus } from '../src/auth/database-log.js'
import { clientAddress, hasForwardingHeaders } from '../src/access/client-address.js'
import { ConfigError } from '../src/config/errors.js'
import { GW_ERR_AUTH_BUSY, GW_ERR_ORIGIN_FORBIDDEN, GW_ERR_USERS_NOT_CONFIGURED } from '../src/errors.js'
import { ANONYMOUS, type Identity } from '../src/wamp/session.js'
import type { UpgradeDecision } from './websocket.js'
import type { GatewayLogger } from '../src/logger.js'
import { counters } from '../src/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Checks an upgrade request; throws the GW_ERR_* answer when it is refused. */
    admitUpgrade (request: FastifyRequest, reply: FastifyReply): Promise<UpgradeDecision>
    /** Ticket and database counters (digests computed, cache hits, queries sent). */
    authStats (): { tickets?: TicketVerifierStats, users?: UserStoreStats }
  }
}

function toIdentity (identity: TicketIdentity): Identity {
  return identity.anonymous ? ANONYMOUS : { anonymous: false, userId: identity.userId, username: identity.username }
}

async function authPlugin (fastify: FastifyInstance): Promise<void> {
  const { secret, databaseUrl, access, tickets } = fastify.gateway
  const log = fastify.log as unknown as GatewayLogger

  let users: DatabaseUserStore | undefined
  let verifier: ReturnType<typeof createTicketVerifier> | undefined
  if (secret === undefined) {
    if (fastify.mode === 'prod') {
      throw new ConfigError('ORO_SECRET', 'is not set; --env=prod needs it to verify the tickets of WebSocket clients', 'ORO_SECRET=<the secret of your Oro application>')
    }
    log.warn('ORO_SECRET is not set: TICKETS ARE NOT CHECKED and every client connects as anonymous (development mode only; never run like this in production)')
  } else {
    if (databaseUrl !== undefined) {
      const store = createUserStore(databaseUrl, { table: fastify.config.ORO_WEBSOCKET_USER_TABLE, onStatus: (status, previous) => { logStatus(status, previous) } })
      const logStatus = logDatabaseStatus(log, store.display)
      users = store
      // Checked at start and, while down, every few seconds: readiness comes back without traffic.
      fastify.readiness.register('database', () => store.readiness())
      store.monitor()
    } else {
      log.warn('ORO_DB_URL is not set: only anonymous tickets can be verified; logged-in users are refused')
    }
    verifier = createTicketVerifier({ secret, lifetimeSeconds: tickets.lifetimeSeconds, skewSeconds: tickets.skewSeconds, ...(users !== undefined ? { users } : {}) })
  }
  fastify.decorate('authStats', () => ({
    ...(verifier !== undefined ? { tickets: { ...verifier.stats } } : {}),
    ...(users !== undefined ? { users: { ...users.stats } } : {})
  }))
  fastify.addHook('onClose', async () => {
    await verifier?.close()
    await users?.close()
  })

  const authQueue = fastify.config.ORO_WEBSOCKET_AUTH_QUEUE
  let verifying = 0
  fastify.decorate('admitUpgrade', async function admitUpgrade (request: FastifyRequest, reply: FastifyReply): Promise<UpgradeDecision> {
    const headers = request.headers
    const peer = request.raw.socket.remoteAddress
    const address = clientAddress(peer, headers, access.trustedProxies)
    const origin = headers.origin
    if (!access.origins.allows(origin)) {
      counters.upgradesRejected++
      log.warn({ origin: origin ?? '(none)', address }, 'Client rejected, bad origin')
      throw new GW_ERR_ORIGIN_FORBIDDEN(origin === undefined ? '(none)' : JSON.stringify(origin))
    }
    let identity: Identity = ANONYMOUS
    if (verifier !== undefined) {
      // Each new ticket costs ~5 ms of a worker's CPU: past the queue's size, shed load with a
      // 503 the client retries, instead of queueing without end (or letting anyone stall us).
      if (verifying >= authQueue) {
        counters.upgradesRejected++
        reply.header('Retry-After', '2')
        log.warn({ address, verifying }, 'Authentication failed: too many upgrades being verified at once (ORO_WEBSOCKET_AUTH_QUEUE)')
        throw new GW_ERR_AUTH_BUSY()
      }
      const ticket = (request.query as Record<string, unknown>).ticket
      verifying++
      try {
        identity = toIdentity(await verifier.verify(typeof ticket === 'string' ? ticket : undefined))
      } catch (caught) {
        counters.upgradesRejected++
        // Without ORO_DB_URL a user's ticket cannot be checked: the gateway's fault, not the user's.
        const err = users === undefined && (caught as { code?: string }).code === 'GW_ERR_USER_UNKNOWN' ? new GW_ERR_USERS_NOT_CONFIGURED() : caught
        const error = err as Error & { statusCode?: number, code?: string }
        if (error.statusCode === 503) reply.header('Retry-After', '5')
        log.info({ address, code: error.code }, `Authentication failed: ${error.message}`)
        throw err
      } finally {
        verifying--
      }
    }
    const direct = !hasForwardingHeaders(headers)
    const canPublish = direct && access.backendNetworks.has(peer)
    return { identity, canPublish, address }
  })
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['config', 'readiness'] })
