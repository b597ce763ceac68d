// An anonymous Oro ticket, made as Oro's PHP backend makes its own (oro-compat §4): the password
// is ORO_SECRET, the username empty. The doctor uses it exactly where Oro would.
import { randomBytes } from 'node:crypto'
import { oroDigest, saltedInput } from '../auth/digest.js'

/** PHP date('c') in UTC: 2026-01-01T10:00:00+00:00. */
export function phpDateUtc (date: Date): string {
  return `${date.toISOString().slice(0, 19)}+00:00`
}

export function anonymousTicket (secret: string, now = new Date()): string {
  const created = phpDateUtc(now)
  const nonce = randomBytes(8).toString('hex')
  const digest = oroDigest(saltedInput(nonce, created, secret, secret))
  return Buffer.from(`${digest};;${nonce};${created}`).toString('base64')
}
