// Idempotency-Key: a repeat of a request with the same key, from the same key holder, within the
// window gets the first answer again and is not delivered twice. A repeat that arrives while the
// first is still being handled waits for its answer. The same key with another body is refused
// (422): replaying the first answer would tell the client its second request was delivered.
// Bounded: the oldest entries go first.
import { createHash } from 'node:crypto'
import { GW_ERR_IDEMPOTENCY_KEY_REUSED } from '../errors.js'
import { ExpiringMap } from './expiring-map.js'

export interface StoredAnswer {
  status: number
  body: unknown
}

export interface IdempotencyStore {
  /**
   * Runs `handle` unless an answer for (holder, key) is stored or pending; returns the stored or
   * new answer and whether it was a replay. Only 2xx answers are kept: a failed request may be
   * retried with the same key. Throws GW_ERR_IDEMPOTENCY_KEY_REUSED when the key was used for a
   * request whose body had another fingerprint.
   */
  run (holder: string, key: string, fingerprint: string, handle: () => Promise<StoredAnswer>): Promise<{ answer: StoredAnswer, replay: boolean }>
}

export const IDEMPOTENCY_WINDOW_MS = 5 * 60_000

/** What identifies a request body: a digest of its bytes (a retry sends the same bytes). */
export function bodyFingerprint (body: string): string {
  return createHash('sha256').update(body).digest('base64url')
}

/** The key as a message may show it: clipped, printable. */
export function showKey (key: string): string {
  return JSON.stringify(key.length > 64 ? key.slice(0, 64) + '...' : key)
}

export function createMemoryIdempotencyStore (windowMs = IDEMPOTENCY_WINDOW_MS, maxEntries = 100_000, now: () => number = Date.now): IdempotencyStore {
  const entries = new ExpiringMap<{ fingerprint: string, answer: Promise<StoredAnswer> }>(windowMs, maxEntries, now)
  return {
    async run (holder, key, fingerprint, handle) {
      const id = `${holder}\u0000${key}`
      const existing = entries.get(id)
      if (existing !== undefined) {
        if (existing.fingerprint !== fingerprint) throw new GW_ERR_IDEMPOTENCY_KEY_REUSED(showKey(key))
        return { answer: await existing.answer, replay: true }
      }
      const answer = handle()
      const entry = { fingerprint, answer }
      entries.set(id, entry)
      try {
        const result = await answer
        if (result.status < 200 || result.status >= 300) forget(id, entry)
        return { answer: result, replay: false }
      } catch (err) {
        forget(id, entry)
        throw err
      }
    }
  }

  function forget (id: string, entry: unknown): void {
    if (entries.get(id) === entry) entries.delete(id)
  }
}
