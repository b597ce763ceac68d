// oroDigest reads each round's digest as a latin1 string and writes it back into one reused
// buffer (src/auth/digest.ts): check it against the formula written plainly, with Buffers, for
// inputs whose digests hold every byte value (a latin1 round trip that lost a byte >= 0x80 or a
// NUL would show), multi-byte UTF-8 passwords, long inputs (several SHA-512 blocks) and an empty
// password.
import { test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { DIGEST_ITERATIONS, oroDigest, saltedInput } from '../src/auth/digest.js'

function plainDigest (salted: string): string {
  const input = Buffer.from(salted, 'utf8')
  let d = createHash('sha512').update(input).digest()
  for (let i = 1; i < DIGEST_ITERATIONS; i++) d = createHash('sha512').update(d).update(input).digest()
  return d.toString('base64')
}

test('oroDigest equals the plain formula', async (t) => {
  t.equal(DIGEST_ITERATIONS, 5000)
  const secret = 'ThisTokenIsNotSoSecretChangeIt'
  const cases = [
    saltedInput('6d1a8b3f0c2e4a57', '2026-01-01T10:00:00+00:00', secret, secret),
    saltedInput('0000000000000000', '2026-01-01T10:00:00+00:00', '', secret),
    saltedInput('abcdef0123456789', '2026-06-30T23:59:59+02:00', '$2y$13$pässwörd-ハッシュ-🔑', 'sécret'),
    saltedInput('abcdef0123456789', '2026-06-30T23:59:59+02:00', 'x'.repeat(300), secret),
    ...Array.from({ length: 4 }, () => saltedInput(randomBytes(8).toString('hex'), '2026-01-01T10:00:00+00:00', randomBytes(40).toString('latin1'), secret))
  ]
  const bytesSeen = new Set<number>()
  for (const salted of cases) {
    const expected = plainDigest(salted)
    t.equal(oroDigest(salted), expected, `digest of ${JSON.stringify(salted.slice(0, 40))}...`)
    for (const byte of Buffer.from(expected, 'base64')) bytesSeen.add(byte)
  }
  // The final digests alone cover most byte values; every round's digest went through the same path.
  t.ok([...bytesSeen].some((b) => b >= 0x80), 'digests with bytes >= 0x80 were compared')
  t.equal(oroDigest(cases[0] as string), 'sNAxvaR63G/V25GTUaQw4iknWso6Y8EyrZRnQUbCYy8pz7xnu0lE2I00NJZIJlS/cr/V3XWGlW2OIgdMjuB3oA==', 'docs/auth.md worked example')
})
