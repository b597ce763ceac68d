// Verifies Oro tickets (oro-compat §4) as OroSyncBundle's TicketAuthenticationProvider does:
// creation time, then the user, then the digest recomputed with the user's password hash (or
// ORO_SECRET for an anonymous ticket). A verified ticket is remembered until it expires and
// identical concurrent verifications share one digest: a reconnect storm re-sends the same tickets.
// A ticket whose digest did not match is remembered too (with the password it was checked
// against), so replaying a forged ticket costs no second digest.
import { createHash, timingSafeEqual } from 'node:crypto'
import { GW_ERR_TICKET_INVALID, GW_ERR_TICKET_MISSING, GW_ERR_USER_DISABLED, GW_ERR_USER_UNKNOWN } from '../errors.js'
import { saltedInput } from './digest.js'
import { createDigestPool, type DigestPool } from './digest-pool.js'
import { SingleFlight } from './single-flight.js'
import { checkCreated, parseTicket, type ParsedTicket } from './ticket-format.js'
import { TtlCache } from './ttl-cache.js'
import type { OroUser, UserStore } from './user-store.js'
import { classifyDatabaseError, databaseUnavailable } from './database-error.js'
import { ANONYMOUS, userIdentity, type Identity } from './identity.js'
import type { Lane } from './admission.js'

export type { Identity } from './identity.js'

export interface TicketVerifierOptions {
  /** ORO_SECRET. */
  secret: string
  /** Oldest accepted ticket, in seconds. Default 300 (Oro's ticket TTL). */
  lifetimeSeconds?: number
  /** How far in the future a ticket may be created (clock skew), in seconds. Default 30. */
  skewSeconds?: number
  /** Where user tickets find their user; without it only anonymous tickets verify. */
  users?: UserStore
  /** Clock in ms. Default Date.now. */
  now?: () => number
  /** Default: a worker pool of `poolSize` threads, closed by close(). */
  digestPool?: DigestPool
  /** Threads of the pool the verifier creates when none is passed. Default defaultPoolSize(). */
  poolSize?: number
  /** Verified tickets remembered, and as many refused ones. Default 10,000; 0 disables. */
  cacheSize?: number
}

export interface TicketVerifierStats {
  verified: number
  /** Verifications answered from the cache, without a digest. */
  cacheHits: number
  /** Verifications that joined an identical one already running. */
  shared: number
  /** Digests this verifier asked for. */
  digests: number
  /** Verifications refused from the cache of forged tickets, without a digest. */
  refusedFromCache: number
  /** Verifications admitted by a session cookie instead of a digest (see resume-cookie.ts). */
  resumed: number
}

/**
 * Says whether the client proved, by a cookie, that this username with this password hash (ORO_SECRET
 * for anonymous) was verified for it before. Called only for well-formed, in-window tickets of an
 * existing, enabled user.
 */
export type ResumeCheck = (username: string, password: string) => boolean

export interface Verification {
  identity: Identity
  /** True when the resume check admitted the ticket without its digest. */
  resumed: boolean
  /** The login as the ticket gives it ('' for anonymous) and the password hash it was checked
   * with (ORO_SECRET for anonymous): what a cookie binds. */
  username: string
  password: string
}

export interface TicketVerifier {
  /**
   * The identity the ticket proves; throws a GW_ERR_TICKET_*, GW_ERR_USER_* or
   * GW_ERR_DATABASE_UNAVAILABLE. The digest waits in `lane` (default 'clean') of the pool.
   */
  verify: (ticket: string | undefined, lane?: Lane) => Promise<Identity>
  /**
   * As verify, and a ticket that passes every check but the digest is admitted when `resume` says
   * yes (the digest is not computed: the caller checks it later with verify).
   */
  verifyOrResume: (ticket: string | undefined, lane: Lane, resume?: ResumeCheck) => Promise<Verification>
  /** Every check but the digest, then the cookie's: the Verification when it resumes the ticket, else null. */
  resume: (ticket: string | undefined, resume: ResumeCheck) => Promise<Verification | null>
  readonly stats: TicketVerifierStats
  /** Forgets the cache and stops the digest pool it created (not one passed in). */
  close: () => Promise<void>
}

// The cache answers only while the password the ticket was verified with is still the user's.
interface Verified { identity: Identity, password: string }

export function createTicketVerifier (options: TicketVerifierOptions): TicketVerifier {
  const secret = options.secret
  const lifetime = options.lifetimeSeconds ?? 300
  const skew = options.skewSeconds ?? 30
  const now = options.now ?? Date.now
  const users = options.users
  const ownsPool = options.digestPool === undefined
  const pool = options.digestPool ?? createDigestPool(options.poolSize === undefined ? {} : { size: options.poolSize })
  const cache = new TtlCache<Verified>(options.cacheSize ?? 10_000)
  // Ticket hash → the password its digest failed against.
  const forged = new TtlCache<string>(options.cacheSize ?? 10_000)
  const flights = new SingleFlight<Verification>()
  const counts = { verified: 0, cacheHits: 0, digests: 0, refusedFromCache: 0, resumed: 0 }

  async function findUser (username: string): Promise<OroUser> {
    // Without ORO_DB_URL no user can be checked: the user is unknown to this gateway.
    if (users === undefined) throw new GW_ERR_USER_UNKNOWN()
    let user: OroUser | null
    try {
      user = await users.findUser(username)
    } catch (error) {
      if ((error as { code?: unknown }).code === 'GW_ERR_DATABASE_UNAVAILABLE') throw error
      const failure = classifyDatabaseError(error)
      throw databaseUnavailable(`${failure.summary}; ${failure.hint}`, error)
    }
    if (user === null) throw new GW_ERR_USER_UNKNOWN()
    if (!user.enabled) throw new GW_ERR_USER_DISABLED()
    return user
  }

  // Every check of verifyParsed but the digest; then the cookie instead. null: no resumption.
  async function resumeParsed (key: string, ticket: ParsedTicket, resume: ResumeCheck): Promise<Verification | null> {
    checkCreated(ticket, now(), lifetime, skew)
    const user = ticket.username === '' ? undefined : await findUser(ticket.username)
    const password = user?.password ?? secret
    // A ticket already known forged is refused by verifyParsed, cookie or not.
    if (forged.get(key, now()) === password || !resume(ticket.username, password)) return null
    counts.resumed++
    return { identity: user === undefined ? ANONYMOUS : userIdentity(user.id, user.username), resumed: true, username: ticket.username, password }
  }

  async function verifyParsed (key: string, ticket: ParsedTicket, lane: Lane): Promise<Verification> {
    checkCreated(ticket, now(), lifetime, skew)
    const user = ticket.username === '' ? undefined : await findUser(ticket.username)
    const password = user?.password ?? secret

    const cached = cache.get(key, now())
    if (cached !== undefined && cached.password === password) {
      counts.cacheHits++
      return { identity: cached.identity, resumed: false, username: ticket.username, password }
    }

    const expiresAt = (ticket.createdSeconds + lifetime + 1) * 1000
    if (forged.get(key, now()) === password) {
      counts.refusedFromCache++
      throw new GW_ERR_TICKET_INVALID()
    }

    counts.digests++
    const expected = Buffer.from(await pool.digest(saltedInput(ticket.nonce, ticket.created, password, secret), lane), 'base64')
    const given = Buffer.from(ticket.digest, 'base64')
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      forged.set(key, password, expiresAt)
      throw new GW_ERR_TICKET_INVALID()
    }

    const identity = user === undefined ? ANONYMOUS : userIdentity(user.id, user.username)
    // Kept until the ticket expires (whole seconds, like the check above).
    cache.set(key, { identity, password }, expiresAt)
    return { identity, resumed: false, username: ticket.username, password }
  }

  function keyOf (ticket: string | undefined): { key: string, parsed: ParsedTicket } {
    if (ticket === undefined || ticket === '') throw new GW_ERR_TICKET_MISSING()
    const parsed = parseTicket(ticket)
    // Keyed by a hash: the raw ticket is a credential and never kept.
    return { key: createHash('sha256').update(ticket).digest('base64'), parsed }
  }

  return {
    async verify (ticket, lane = 'clean') {
      const { key, parsed } = keyOf(ticket)
      const { identity } = await flights.run(key, async () => await verifyParsed(key, parsed, lane))
      counts.verified++
      return identity
    },
    async verifyOrResume (ticket, lane, resume) {
      const { key, parsed } = keyOf(ticket)
      // The cookie is per client: checked apart, before joining the shared verification.
      const verification = (resume === undefined ? null : await resumeParsed(key, parsed, resume)) ?? await flights.run(key, async () => await verifyParsed(key, parsed, lane))
      counts.verified++
      return verification
    },
    async resume (ticket, resume) {
      const { key, parsed } = keyOf(ticket)
      const verification = await resumeParsed(key, parsed, resume)
      if (verification !== null) counts.verified++
      return verification
    },
    get stats () {
      return { ...counts, shared: flights.joined }
    },
    async close () {
      cache.clear()
      forged.clear()
      if (ownsPool) await pool.close()
    }
  }
}
