// Publish API keys: several at once (rotation without downtime), compared in constant time.
// Every key is held padded with zeros to the longest key's length; the presented key is written
// into a buffer of that length too, so each comparison is one timingSafeEqual over the same number
// of bytes whatever the keys or the presented value, and no key's length shows in the time either.
// (Hashing each presented key to compare digests cost ~6,000 instructions per POST /publish:
// docs/benchmark.md, issue 20.)
import { randomBytes, timingSafeEqual } from 'node:crypto'

export interface PublishKeys {
  /** The matching key's id (its position, for rate limits and idempotency), or -1. */
  match (presented: string): number
  readonly count: number
}

/**
 * Placeholders shipped in this repository's examples (deploy/kubernetes/secret.example.yaml): a
 * key anyone can read there. --env=prod refuses to start with one (src/config/requirements.ts).
 */
export const PLACEHOLDER_PUBLISH_KEYS: ReadonlyMap<string, string> = new Map([
  ['change-me-to-a-long-random-key', 'deploy/kubernetes/secret.example.yaml']
])

export function parseKeyList (list: string | undefined): string[] {
  return (list ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '')
}

export function createPublishKeys (keys: readonly string[]): PublishKeys {
  const encoded = keys.map((key) => Buffer.from(key, 'utf8'))
  const lengths = encoded.map((key) => key.length)
  const width = Math.max(1, ...lengths)
  const padded = encoded.map((key) => {
    const buffer = Buffer.alloc(width)
    key.copy(buffer)
    return buffer
  })
  // Reused by every call (match is synchronous): no allocation per request.
  const presentedBuffer = Buffer.alloc(width)
  return {
    count: keys.length,
    match (presented: string): number {
      // A longer value is cut at `width` bytes; its length alone then tells it matches no key.
      const length = Buffer.byteLength(presented, 'utf8')
      const written = presentedBuffer.write(presented, 0, 'utf8')
      presentedBuffer.fill(0, written)
      let found = -1
      // Every key is compared, so the time does not tell which one (or whether one) matched.
      for (let i = 0; i < padded.length; i++) {
        if (timingSafeEqual(presentedBuffer, padded[i] as Buffer) && length === lengths[i] && found === -1) found = i
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
