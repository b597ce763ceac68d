// Per-key rate limit for the publish API: a token bucket per key (requests per second, with a
// burst of one second's worth). Off when the rate is 0.
import { TokenBucket } from '../token-bucket.js'

export interface RateLimiter {
  /** 0 when the request may go ahead, else the seconds to wait before retrying. */
  take (keyId: number): number
}

export function createRateLimiter (perSecond: number, now: () => number = () => performance.now()): RateLimiter {
  if (perSecond <= 0) return { take: () => 0 }
  const buckets = new Map<number, TokenBucket>()
  return {
    take (keyId: number): number {
      const t = now()
      let bucket = buckets.get(keyId)
      if (bucket === undefined) {
        bucket = new TokenBucket(perSecond, perSecond / 1000, t)
        buckets.set(keyId, bucket)
      }
      if (bucket.tryTake(t)) return 0
      return Math.max(1, Math.ceil(bucket.msUntilOne() / 1000))
    }
  }
}
