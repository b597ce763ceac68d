// Idempotency-Key: a repeat of a request with the same key, from the same key holder, within the
// window gets the first answer again and is not delivered twice. A repeat that arrives while the
// first is still being handled waits for its answer. The same key with another body is refused
// (422): replaying the first answer would tell the client its second request was delivered.
// Bounded by time (the window) and memory (IDEMPOTENCY_MAX_BYTES): nothing is forgotten before
// its window ends, a request being handled least of all; when the bound is reached, new keys are
// refused (503 GW_ERR_IDEMPOTENCY_STORE_FULL, Retry-After) until old ones expire.
import { createHash } from 'node:crypto'
import { GW_ERR_IDEMPOTENCY_KEY_REUSED, GW_ERR_IDEMPOTENCY_STORE_FULL } from '../errors.js'
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

/** Memory for remembered answers per node: at about 570 bytes a key (measured), ~115,000 keys in 5 minutes. */
export const IDEMPOTENCY_MAX_BYTES = 64 * 1024 * 1024

/**
 * What one remembered key costs in the heap besides its strings (map entry, queue slot, entry
 * object, the stored answer), measured (test/publish-idempotency.test.ts checks the estimate).
 */
const ENTRY_BYTES = 400

/** The error for a full store, with when to come back (the oldest entry's expiry). */
export function storeFull (entries: number, retryAfterMs: number): Error & { retryAfterSeconds: number } {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return Object.assign(new GW_ERR_IDEMPOTENCY_STORE_FULL(entries, seconds), { retryAfterSeconds: seconds })
}

interface Entry {
  fingerprint: string
  /** While the first request is handled. */
  pending: Promise<StoredAnswer> | null
  /** Its 2xx answer, once there. */
  answer: StoredAnswer | null
}

export function createMemoryIdempotencyStore (windowMs = IDEMPOTENCY_WINDOW_MS, maxBytes = IDEMPOTENCY_MAX_BYTES, now: () => number = Date.now): IdempotencyStore {
  const entries = new ExpiringMap<Entry>(windowMs, maxBytes, now)
  return {
    async run (holder, key, fingerprint, handle) {
      const id = `${holder}\u0000${key}`
      const existing = entries.get(id)
      if (existing !== undefined) {
        if (existing.fingerprint !== fingerprint) throw new GW_ERR_IDEMPOTENCY_KEY_REUSED(showKey(key))
        return { answer: existing.answer ?? await (existing.pending as Promise<StoredAnswer>), replay: true }
      }
      const entry: Entry = { fingerprint, pending: null, answer: null }
      // Refused before anything is delivered: a key that cannot be remembered cannot be honoured.
      if (!entries.set(id, entry, ENTRY_BYTES + 2 * (id.length + fingerprint.length))) throw storeFull(entries.size, entries.oldestExpiresInMs())
      const pending = handle()
      entry.pending = pending
      try {
        const result = await pending
        if (result.status < 200 || result.status >= 300) forget(id, entry)
        else entry.answer = result
        entry.pending = null
        return { answer: result, replay: false }
      } catch (err) {
        forget(id, entry)
        throw err
      }
    }
  }

  function forget (id: string, entry: Entry): void {
    if (entries.get(id) === entry) entries.delete(id)
  }
}
