// Per-key rate limit for the publish API: a token bucket per key (requests per second, with a
// burst of one second's worth). Off when the rate is 0.

export interface RateLimiter {
  /** 0 when the request may go ahead, else the seconds to wait before retrying. */
  take (keyId: number): number
}

export function createRateLimiter (perSecond: number, now: () => number = () => performance.now()): RateLimiter {
  if (perSecond <= 0) return { take: () => 0 }
  const buckets = new Map<number, { tokens: number, at: number }>()
  return {
    take (keyId: number): number {
      const t = now()
      let bucket = buckets.get(keyId)
      if (bucket === undefined) {
        bucket = { tokens: perSecond, at: t }
        buckets.set(keyId, bucket)
      } else {
        bucket.tokens = Math.min(perSecond, bucket.tokens + ((t - bucket.at) / 1000) * perSecond)
        bucket.at = t
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return 0
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond))
    }
  }
}
