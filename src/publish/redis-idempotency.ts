// Idempotency-Key across nodes: the answers live in Redis, so a repeat sent to any node gets the
// first answer. The first request claims the key with SET NX (a short-lived "pending" marker),
// delivers, then stores its 2xx answer for the window; a failed one deletes the marker so the
// request may be retried. A duplicate that finds the marker waits for the answer (on the same
// node without asking Redis again). Redis unreachable: 503, like the broker itself. The marker and
// the answer carry the body's fingerprint: the same key with another body is refused (422).
//
// A claim this node could not let go of (Redis froze: the claim's SET or the DEL after a failure
// timed out, and ran when Redis came back) would make a retry wait for the claim to expire and
// then answer 504, though nothing was delivered (issue 18: 27 s). Each claim carries a token; this
// node remembers the tokens of claims it abandoned, and a retry that finds one takes the key over
// at once. A claim lasts 5 s (the command timeout is 2 s): a retry on another node waits at most
// that; delivery ids keep the retry from being delivered twice should the first arrive after all.
import { randomBytes } from 'node:crypto'
import { IDEMPOTENCY_WINDOW_MS, showKey, type IdempotencyStore, type StoredAnswer } from './idempotency.js'
import { ExpiringMap } from './expiring-map.js'
import { GW_ERR_BROKER_UNAVAILABLE, GW_ERR_IDEMPOTENCY_KEY_REUSED, GW_ERR_PUBLISH_OUTCOME_UNKNOWN } from '../errors.js'

/** The few commands the store needs (ioredis' Redis and Cluster both have them). */
export interface IdempotencyRedis {
  set (key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<'OK' | null>
  set (key: string, value: string, px: 'PX', ms: number): Promise<'OK' | null>
  get (key: string): Promise<string | null>
  del (key: string): Promise<number>
}

export interface RedisIdempotencyOptions {
  /** Key prefix (ORO_WEBSOCKET_REDIS_PREFIX); keys are PREFIX idem:HOLDER:KEY. */
  prefix: string
  windowMs?: number
  /** How long a claim lasts without an answer (a node that died while handling it). */
  pendingMs?: number
  /** How often a duplicate on another node looks for the first one's answer. */
  pollMs?: number
}

const PENDING = 'pending:'

/** What is stored once a request was answered. */
interface Stored { f: string, a: StoredAnswer }

export function createRedisIdempotencyStore (redis: IdempotencyRedis, options: RedisIdempotencyOptions): IdempotencyStore {
  const windowMs = options.windowMs ?? IDEMPOTENCY_WINDOW_MS
  const pendingMs = options.pendingMs ?? 5000
  const pollMs = options.pollMs ?? 20
  const local = new Map<string, { fingerprint: string, result: Promise<{ answer: StoredAnswer, replay: boolean }> }>()
  /** Claims (their markers) this node gave up without being able to delete them; as long as a claim lives. */
  const abandoned = new ExpiringMap<true>(pendingMs, 8 * 1024 * 1024)
  const abandon = (marker: string): void => { abandoned.set(marker, true, 200 + 2 * marker.length) }

  const unavailable = (err: unknown): Error => new GW_ERR_BROKER_UNAVAILABLE(`redis: ${(err as Error).message}`)

  async function attempt (id: string, key: string, fingerprint: string, handle: () => Promise<StoredAnswer>): Promise<{ answer: StoredAnswer, replay: boolean }> {
    const deadline = Date.now() + pendingMs
    for (;;) {
      let claimed: 'OK' | null
      // The marker: the fingerprint, then this claim's token.
      const marker = `${PENDING}${fingerprint} ${randomBytes(9).toString('base64url')}`
      try {
        claimed = await redis.set(id, marker, 'PX', pendingMs, 'NX')
      } catch (err) {
        // It may still be set when Redis comes back: nobody would be handling it.
        abandon(marker)
        throw unavailable(err)
      }
      if (claimed === 'OK') return { answer: await handleClaimed(id, marker, fingerprint, handle), replay: false }
      // Someone else has it: its answer, or wait for it (or for its failure, then try again).
      let stored: string | null
      try {
        stored = await redis.get(id)
      } catch (err) {
        throw unavailable(err)
      }
      if (stored === null) continue // the first one failed and let go: claim it again
      const pending = stored.startsWith(PENDING)
      if (pending && abandoned.get(stored) === true) {
        // A claim of this node that nobody handles: take the key over now instead of waiting.
        abandoned.delete(stored)
        try {
          await redis.del(id)
        } catch (err) {
          throw unavailable(err)
        }
        continue
      }
      const found = pending ? { f: stored.slice(PENDING.length).split(' ')[0] as string, a: null } : JSON.parse(stored) as Stored
      if (found.f !== fingerprint) throw new GW_ERR_IDEMPOTENCY_KEY_REUSED(showKey(key))
      if (found.a !== null) return { answer: found.a, replay: true }
      // The first request may still deliver: "nothing was delivered" would not be true.
      if (Date.now() > deadline) throw new GW_ERR_PUBLISH_OUTCOME_UNKNOWN('a request with this Idempotency-Key is still being handled on another node')
      await new Promise((resolve) => setTimeout(resolve, pollMs))
    }
  }

  async function handleClaimed (id: string, marker: string, fingerprint: string, handle: () => Promise<StoredAnswer>): Promise<StoredAnswer> {
    let answer: StoredAnswer
    try {
      answer = await handle()
    } catch (err) {
      // Nothing was delivered (or it is unknown: 504, and then the delivery ids protect a retry).
      await redis.del(id).catch(() => { abandon(marker) })
      throw err
    }
    if (answer.status >= 200 && answer.status < 300) {
      // Delivered: the answer stands even if Redis went away just now (the claim then expires
      // and a retry after it may deliver again: at least once, never a 2xx for nothing).
      const stored: Stored = { f: fingerprint, a: answer }
      await redis.set(id, JSON.stringify(stored), 'PX', windowMs).catch(() => {})
    } else {
      await redis.del(id).catch(() => { abandon(marker) })
    }
    return answer
  }

  return {
    async run (holder, key, fingerprint, handle) {
      const id = `${options.prefix}idem:${holder}:${key}`
      const pending = local.get(id)
      if (pending !== undefined) {
        if (pending.fingerprint !== fingerprint) throw new GW_ERR_IDEMPOTENCY_KEY_REUSED(showKey(key))
        const { answer } = await pending.result
        return { answer, replay: true }
      }
      const result = attempt(id, key, fingerprint, handle)
      local.set(id, { fingerprint, result })
      try {
        return await result
      } finally {
        local.delete(id)
      }
    }
  }
}
