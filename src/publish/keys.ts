// Publish API keys: several at once (rotation without downtime), compared in constant time.
// Keys are kept only as SHA-256 digests, so equal-length comparison is constant whatever the key.
import * as crypto from 'node:crypto'
import { randomBytes, timingSafeEqual } from 'node:crypto'

export interface PublishKeys {
  /** The matching key's id (its position, for rate limits and idempotency), or -1. */
  match (presented: string): number
  readonly count: number
}

// Every POST /publish hashes its key: the one-shot crypto.hash (Node >= 20.12) costs half of a
// Hash object's createHash/update/digest (docs/benchmark.md, issue 20).
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash
function digest (key: string): Buffer {
  return oneShot !== undefined ? oneShot('sha256', key, 'buffer') : crypto.createHash('sha256').update(key).digest()
}

export function parseKeyList (list: string | undefined): string[] {
  return (list ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '')
}

export function createPublishKeys (keys: readonly string[]): PublishKeys {
  const digests = keys.map(digest)
  return {
    count: digests.length,
    match (presented: string): number {
      const candidate = digest(presented)
      let found = -1
      // Every key is compared, so the time does not tell which one (or whether one) matched.
      for (let i = 0; i < digests.length; i++) {
        if (timingSafeEqual(candidate, digests[i] as Buffer) && found === -1) found = i
      }
      return found
    }
  }
}

/** A key for development mode, when none is configured. */
export function generateKey (): string {
  return randomBytes(24).toString('base64url')
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header)
  return match?.[1]
}
