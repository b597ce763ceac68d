// Who may open a WebSocket session, decided before the upgrade: the Origin check, fair admission
// to ticket verification (queues per client network, see src/auth/admission.ts), Oro's ticket
// (anonymous, or a user from Oro's database; one ticket opens ORO_WEBSOCKET_SESSIONS_PER_TICKET
// browser sessions), the resume cookie and its later digest check (resume-recheck.ts), and whether
// the session is a backend that may publish (from a backend network, straight, not through a
// proxy, with a valid ticket). The pieces (verifier, admission, cookies) are built by the auth
// plugin; this is the order they are asked in.
import { createHash } from 'node:crypto'
import type { Admission, Admitted, RefusalReason } from '../auth/admission.js'
import type { TicketVerifier } from '../auth/ticket.js'
import { parseTicket } from '../auth/ticket-format.js'
import { TtlCache } from '../auth/ttl-cache.js'
import { ANONYMOUS, type Identity } from '../auth/identity.js'
import type { ResumeCookies } from '../auth/resume-cookie.js'
import type { RecheckResult, ResumeRechecks } from '../auth/resume-recheck.js'
import type { SecretMismatchWatch } from '../auth/secret-mismatch.js'
import { addressAggregate, addressBucket } from '../access/address-bucket.js'
import { clientAddress } from '../access/client-address.js'
import { normalizeAddress } from '../access/networks.js'
import { mayPublish } from '../access/backend-publisher.js'
import { originHost } from '../access/origin.js'
import type { OriginRefresh } from '../access/origin-refresh.js'
import type { RefusalLog } from '../access/refusal-log.js'
import type { AccessSettings } from '../config/gateway-config.js'
import { clip } from '../log-throttle.js'
import type { GatewayStats } from '../stats.js'
import { GW_ERR_AUTH_BUSY, GW_ERR_AUTH_RATE_LIMITED, GW_ERR_AUTH_WAIT_TOO_LONG, GW_ERR_ORIGIN_FORBIDDEN, GW_ERR_SHUTTING_DOWN, GW_ERR_TICKET_REUSED, GW_ERR_USERS_NOT_CONFIGURED } from '../errors.js'
import { refused, type Authenticate, type RefusalError, type UpgradeRequest, type Verdict } from './decision.js'

export interface AuthenticatorOptions {
  access: AccessSettings
  /** Origins from Oro's configuration (null: they come from the settings alone). */
  originRefresh: OriginRefresh | null
  /** Undefined without ORO_SECRET (development only): everyone is anonymous. */
  verifier: TicketVerifier | undefined
  /** Whether Oro's database is configured (else a user's ticket is the gateway's problem). */
  usersConfigured: boolean
  admission: Admission
  resumeCookies: ResumeCookies | undefined
  rechecks: ResumeRechecks | undefined
  mismatch: SecretMismatchWatch
  /** ORO_WEBSOCKET_SESSIONS_PER_TICKET (0: no limit). */
  perTicket: number
  tickets: { lifetimeSeconds: number, skewSeconds: number }
  /** ORO_WEBSOCKET_AUTH_MAX_WAIT, for its refusal's message. */
  maxWaitSeconds: number
  /** Origin refusals (once per origin per minute) and the others (once per kind and network). */
  originLog: RefusalLog
  refusalLog: RefusalLog
  /** The app's figures: refusals are counted by reason. */
  stats: GatewayStats
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

/** Whether a ticket (already found well-formed) names no user. */
function isAnonymous (ticket: unknown): boolean {
  try {
    return parseTicket(typeof ticket === 'string' ? ticket : undefined).username === ''
  } catch {
    return false
  }
}

export function createAuthenticator (options: AuthenticatorOptions): Authenticate {
  const { access, originRefresh, verifier, admission, resumeCookies, rechecks, mismatch, perTicket, tickets, originLog, refusalLog, stats } = options
  // Sessions each ticket opened while valid (by the ticket's hash: the ticket is a credential).
  const ticketUses = new TtlCache<number>(100_000)

  function refuse (reason: RefusalReason, retryAfterSeconds: number, address: string, network: string): Verdict {
    const retryAfter = String(retryAfterSeconds)
    // The client hung up while it waited: nobody reads the answer.
    if (reason === 'gone') return refused(new GW_ERR_AUTH_BUSY('the client left while it waited'), retryAfter)
    if (reason === 'closed') {
      stats.upgradeRefused('shutting_down')
      return refused(new GW_ERR_SHUTTING_DOWN(), retryAfter)
    }
    const setting = REFUSAL_SETTING[reason]
    const limited = reason === 'client-pending' || reason === 'client-failures'
    stats.upgradeRefused(limited ? 'auth_rate_limited' : 'auth_busy')
    const what = reason === 'client-failures' ? 'failed tickets' : reason === 'client-pending' ? 'upgrades waiting after failed tickets' : reason === 'wait' ? 'upgrades waiting' : 'upgrades waiting or being verified'
    refusalLog.write('warn', `${reason} ${network}`, { address, network, reason, setting }, `Authentication refused: too many ${what} (${setting})`)
    if (limited) return refused(new GW_ERR_AUTH_RATE_LIMITED(`${what} (${setting})`, retryAfterSeconds), retryAfter)
    if (reason === 'wait') return refused(new GW_ERR_AUTH_WAIT_TOO_LONG(retryAfterSeconds * 2, options.maxWaitSeconds), retryAfter)
    return refused(new GW_ERR_AUTH_BUSY(setting), retryAfter)
  }

  /** One ticket, one page: Oro fetches a new ticket for every connection attempt. Null: it may. */
  function countTicketUse (ticket: string, address: string, network: string): Verdict | null {
    const key = createHash('sha256').update(ticket).digest('base64url')
    const now = Date.now()
    const used = ticketUses.get(key, now) ?? 0
    if (used >= perTicket) {
      stats.upgradeRefused('GW_ERR_TICKET_REUSED')
      refusalLog.write('notice', `reused ${network}`, { address, network, setting: 'ORO_WEBSOCKET_SESSIONS_PER_TICKET' }, `Upgrade refused: its ticket already opened ${used} sessions (ORO_WEBSOCKET_SESSIONS_PER_TICKET)`)
      return refused(new GW_ERR_TICKET_REUSED(used), '1')
    }
    // Remembered as long as a ticket can be valid (its lifetime and the skew allowed).
    ticketUses.set(key, used + 1, now + (tickets.lifetimeSeconds + tickets.skewSeconds + 1) * 1000)
    return null
  }

  return async function authenticate (request: UpgradeRequest): Promise<Verdict> {
    const { headers, socket } = request
    const peer = socket.remoteAddress
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
      return refused(new GW_ERR_ORIGIN_FORBIDDEN(origin === undefined ? '(none)' : JSON.stringify(clip(origin, 100))))
    }
    // Direct from a backend network, or through a trusted proxy for one (src/access/backend-publisher.ts).
    const canPublish = mayPublish(peer, headers, access)
    if (verifier === undefined) return { accepted: true, decision: { identity: ANONYMOUS, canPublish, address } }

    // Each new ticket costs ~5 ms of a worker's CPU: the upgrade waits its network's turn (see
    // admission.ts), in the lane its network's and user's record says. Refusals cost nothing.
    const network = addressBucket(address)
    const ticket = request.ticket
    const given = typeof ticket === 'string' ? ticket : undefined
    const who = { network, aggregate: addressAggregate(address), username: ticketUsername(given), trusted: canPublish }
    // A client that hangs up while it waits gives its place up at once (see admission.ts). A
    // browser hangs up with a FIN: after an upgrade Node keeps the socket half-open, so 'end' (not
    // 'close', nor `destroyed`) is what says it left; no WebSocket client half-closes on purpose.
    const waiting = {
      alive: () => !socket.destroyed && !socket.readableEnded,
      watchGone: (listener: () => void) => {
        socket.once('end', listener)
        socket.once('close', listener)
        return () => {
          socket.off('end', listener)
          socket.off('close', listener)
        }
      }
    }
    // What a failed verification answers; only the client's own mistakes count against it.
    const failed = (caught: unknown, entry: Admitted): Verdict => {
      stats.upgradeRefused((caught as { code?: string }).code)
      // Without ORO_DB_URL a user's ticket cannot be checked: the gateway's fault, not the user's.
      const error: RefusalError = !options.usersConfigured && (caught as { code?: string }).code === 'GW_ERR_USER_UNKNOWN' ? new GW_ERR_USERS_NOT_CONFIGURED() : caught as RefusalError
      // A database outage is ours.
      entry.release(error.statusCode === 401 ? 'failed' : 'neutral')
      if (error.code === 'GW_ERR_TICKET_INVALID') mismatch.failed(network, isAnonymous(ticket))
      // A database failure's detail (login refused, host, table) is for the log, not the answer.
      const detail = (error as { detail?: string }).detail
      refusalLog.write('info', `${error.code ?? 'error'} ${network}`, { address, code: error.code }, `Authentication failed: ${error.message}${detail !== undefined ? ` (${detail})` : ''}`)
      return refused(error, error.statusCode === 503 ? (error.code === 'GW_ERR_SHUTTING_DOWN' ? '2' : '5') : undefined)
    }
    let identity: Identity | undefined
    let recheck: Promise<RecheckResult> | undefined
    let setCookie: string | undefined
    // A page back with its cookie (a restart) costs a user lookup and an HMAC, no digest: it goes
    // ahead of the digests (admission's resume turn), so a crowd of them is back in seconds while
    // their rechecks follow. A cookie that does not resume the ticket leaves that turn at once and
    // the ticket is verified in full in its network's turn, as without a cookie.
    const cookieHeader = headers.cookie
    if (resumeCookies !== undefined && rechecks !== undefined && resumeCookies.present(cookieHeader)) {
      const cookies = resumeCookies
      const entry = await admission.enter({ ...who, resume: true, ...waiting })
      if (!entry.admitted) return refuse(entry.reason, entry.retryAfterSeconds, address, network)
      let chain: string | undefined
      try {
        const verification = await verifier.resume(given, (username, password) => {
          chain = cookies.check(cookieHeader, network, username, password)
          return chain !== undefined && rechecks.mayResume(chain)
        })
        if (verification !== null && chain !== undefined) {
          identity = verification.identity
          recheck = rechecks.check({ ticket: given, cookieHeader, chain, who: { network, aggregate: who.aggregate, username: who.username, alive: () => !socket.destroyed } })
        }
      } catch (caught) {
        return failed(caught, entry)
      }
      // Resumed is not verified yet: neither a success nor a failure until its recheck says so.
      entry.release('neutral')
    }
    if (identity === undefined) {
      const entry = await admission.enter({ ...who, ...waiting })
      if (!entry.admitted) return refuse(entry.reason, entry.retryAfterSeconds, address, network)
      try {
        const verification = await verifier.verifyOrResume(given, entry.lane)
        identity = verification.identity
        if (resumeCookies !== undefined) {
          // Secure when the browser's connection is TLS: ours, or a trusted proxy's (X-Forwarded-Proto).
          const secure = (socket as { encrypted?: boolean }).encrypted === true ||
            (headers['x-forwarded-proto'] === 'https' && peer !== undefined && access.trustedProxies.has(normalizeAddress(peer)))
          setCookie = resumeCookies.issue(network, verification.username, verification.password, secure)
        }
      } catch (caught) {
        return failed(caught, entry)
      }
      entry.release('ok')
    }
    mismatch.accepted()
    // One ticket, one page: Oro fetches a new ticket for every connection attempt.
    if (perTicket > 0 && !canPublish && given !== undefined) {
      const reused = countTicketUse(given, address, network)
      if (reused !== null) return reused
    }
    return { accepted: true, decision: { identity, canPublish, address, ...(recheck !== undefined ? { recheck } : {}), ...(setCookie !== undefined ? { setCookie } : {}) } }
  }
}
