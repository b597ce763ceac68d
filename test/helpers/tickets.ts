// Makes Oro tickets the way Oro's TicketProvider does (oro-compat §4), written from the algorithm
// with node:crypto alone so the tests do not check src/auth against itself.
import { createHash, randomBytes } from 'node:crypto'

export interface TicketParts {
  /** ORO_SECRET. */
  secret: string
  /** '' or absent: anonymous. */
  username?: string
  /** The user's stored password hash; an anonymous ticket uses the secret. */
  password?: string
  /** Default now; a Date is written like PHP date('c') in UTC. */
  created?: Date | string
  /** Default 16 random hex characters, like Oro's. */
  nonce?: string
}

/** PHP date('c'): 2026-01-01T10:00:00+00:00 (offset in minutes east of UTC). */
export function phpDate (date: Date, offsetMinutes = 0): string {
  const shifted = new Date(Math.floor(date.getTime() / 1000) * 1000 + offsetMinutes * 60_000)
  const sign = offsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(offsetMinutes)
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${shifted.toISOString().slice(0, 19)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

/** base64 of the 5000-round SHA-512 digest of `nonce|created|password{secret}`. */
export function ticketDigest (nonce: string, created: string, password: string, secret: string): string {
  const salted = Buffer.from(`${nonce}|${created}|${password}{${secret}}`)
  let digest = createHash('sha512').update(salted).digest()
  for (let i = 1; i < 5000; i++) digest = createHash('sha512').update(digest).update(salted).digest()
  return digest.toString('base64')
}

/** The ticket Oro hands to the browser (or the PHP backend makes for itself). */
export function makeTicket (parts: TicketParts): string {
  const username = parts.username ?? ''
  const password = username === '' ? parts.secret : (parts.password ?? '')
  const created = parts.created === undefined
    ? phpDate(new Date())
    : typeof parts.created === 'string' ? parts.created : phpDate(parts.created)
  const nonce = parts.nonce ?? randomBytes(8).toString('hex')
  const digest = ticketDigest(nonce, created, password, parts.secret)
  return Buffer.from(`${digest};${username};${nonce};${created}`).toString('base64')
}

/** base64 of any text: for tickets broken on purpose. */
export function encodeTicket (text: string): string {
  return Buffer.from(text).toString('base64')
}
