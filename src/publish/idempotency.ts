// Idempotency-Key: a repeat of a request with the same key, from the same key holder, within the
// window gets the first answer again and is not delivered twice. A repeat that arrives while the
// first is still being handled waits for its answer. Bounded: the oldest entries go first.

export interface StoredAnswer {
  status: number
  body: unknown
}

export interface IdempotencyStore {
  /**
   * Runs `handle` unless an answer for (holder, key) is stored or pending; returns the stored or
   * new answer and whether it was a replay. Only 2xx answers are kept: a failed request may be
   * retried with the same key.
   */
  run (holder: string, key: string, handle: () => Promise<StoredAnswer>): Promise<{ answer: StoredAnswer, replay: boolean }>
}

export function createMemoryIdempotencyStore (windowMs = 5 * 60_000, maxEntries = 100_000, now: () => number = Date.now): IdempotencyStore {
  const entries = new Map<string, { at: number, answer: Promise<StoredAnswer> }>()
  const evict = (): void => {
    const limit = now() - windowMs
    for (const [k, entry] of entries) {
      if (entry.at >= limit && entries.size <= maxEntries) break
      entries.delete(k)
    }
  }
  return {
    async run (holder, key, handle) {
      evict()
      const id = `${holder}\u0000${key}`
      const existing = entries.get(id)
      if (existing !== undefined && existing.at >= now() - windowMs) {
        return { answer: await existing.answer, replay: true }
      }
      const answer = handle()
      entries.set(id, { at: now(), answer })
      try {
        const result = await answer
        if (result.status < 200 || result.status >= 300) entries.delete(id)
        return { answer: result, replay: false }
      } catch (err) {
        entries.delete(id)
        throw err
      }
    }
  }
}
