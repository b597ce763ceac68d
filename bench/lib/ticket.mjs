// Oro tickets, made the way Oro's backend makes them (oro-compat §4): the digest is 5000 rounds of
// SHA-512 over nonce|created|password{ORO_SECRET}, where password is ORO_SECRET for an anonymous
// ticket and the user's stored password hash for a user's. The gateway lets one browser ticket
// open ORO_WEBSOCKET_SESSIONS_PER_TICKET (2) sessions, so benches that play browsers make one per
// session (the fan-out's subscribers, the storm's sessions and attempts); a backend's ticket (from
// ORO_WEBSOCKET_BACKEND_NETWORKS) is not counted.
import { createHash, randomBytes } from 'node:crypto'

export function ticket (secret, { username = '', password = secret, now = new Date() } = {}) {
  const created = now.toISOString().replace(/\.\d{3}Z$/, '+00:00')
  const nonce = randomBytes(8).toString('hex')
  const salted = Buffer.from(`${nonce}|${created}|${password}{${secret}}`)
  let digest = createHash('sha512').update(salted).digest()
  for (let i = 1; i < 5000; i++) digest = createHash('sha512').update(digest).update(salted).digest()
  return Buffer.from(`${digest.toString('base64')};${username};${nonce};${created}`).toString('base64')
}

export function anonymousTicket (secret, now = new Date()) {
  return ticket(secret, { now })
}
