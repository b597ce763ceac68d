// Oro's ticket digest: Symfony's MessageDigestPasswordHasher with sha512, 5000 iterations, base64
// (oro-compat §4). No imports besides node:crypto, so a worker thread can load it cheaply.
import * as crypto from 'node:crypto'

export const DIGEST_ITERATIONS = 5000

/** `nonce|created|password{secret}`: the string Symfony hashes (password merged with the salt). */
export function saltedInput (nonce: string, created: string, password: string, secret: string): string {
  return `${nonce}|${created}|${password}{${secret}}`
}

// One round costs the hash (~0.5 µs here) plus Node's call around it, and most of that call was
// the 64-byte Buffer each digest returned (an ArrayBuffer with its own backing store, then GC):
// asked for as a latin1 string instead (one byte per character, lossless both ways) and written
// back into one reused buffer, a ticket's 5,000 rounds take ~3.4 ms of CPU instead of ~6.0 ms
// (OpenSSL's own loop: ~2.5 ms; see docs/benchmark.md). crypto.hash (Node >= 20.12) is the
// one-shot call; createHash is the fallback for older Node 20 releases. ('binary' is Node's
// other name for latin1, the one its digest typings take.)
const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'binary') => string }).hash
const sha512 = oneShot !== undefined
  ? (data: Buffer): string => oneShot('sha512', data, 'binary')
  : (data: Buffer): string => crypto.createHash('sha512').update(data).digest('binary')

/** base64(d) with d = sha512(salted), then 4999 times d = sha512(d + salted). */
export function oroDigest (salted: string): string {
  const input = Buffer.from(salted, 'utf8')
  // One buffer reused for every round: the previous 64-byte digest, then the salted input.
  const round = Buffer.allocUnsafe(64 + input.length)
  input.copy(round, 64)
  let digest = sha512(input)
  for (let i = 1; i < DIGEST_ITERATIONS; i++) {
    round.write(digest, 0, 64, 'latin1')
    digest = sha512(round)
  }
  return Buffer.from(digest, 'latin1').toString('base64')
}
