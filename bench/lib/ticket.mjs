// An anonymous Oro ticket, made the way Oro's backend makes one (oro-compat §4): the digest is
// 5000 rounds of SHA-512 over nonce|created|ORO_SECRET{ORO_SECRET}. Oro keeps no nonce store, so
// one ticket serves every benchmark client for its 300 s lifetime.
import { createHash, randomBytes } from 'node:crypto'

export function anonymousTicket (secret, now = new Date()) {
  const created = now.toISOString().replace(/\.\d{3}Z$/, '+00:00')
  const nonce = randomBytes(8).toString('hex')
  const salted = Buffer.from(`${nonce}|${created}|${secret}{${secret}}`)
  let digest = createHash('sha512').update(salted).digest()
  for (let i = 1; i < 5000; i++) digest = createHash('sha512').update(digest).update(salted).digest()
  return Buffer.from(`${digest.toString('base64')};;${nonce};${created}`).toString('base64')
}
