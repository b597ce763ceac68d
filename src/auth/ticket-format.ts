// Reads an Oro ticket: base64 of `digest;username;nonce;created` (oro-compat §4), and checks its
// creation time the way OroSyncBundle's TicketAuthenticationProvider does (whole seconds,
// rejected when more than `skew` s ahead or more than `lifetime` s old).
import {
  GW_ERR_TICKET_EXPIRED,
  GW_ERR_TICKET_FUTURE,
  GW_ERR_TICKET_MALFORMED,
  GW_ERR_TICKET_MISSING
} from '../errors.js'

export interface ParsedTicket {
  /** base64 of the 64-byte SHA-512 digest. */
  digest: string
  /** '' for an anonymous ticket. */
  username: string
  nonce: string
  /** As written in the ticket: the digest covers these exact characters. */
  created: string
  /** `created` in Unix seconds. */
  createdSeconds: number
}

// Oro's tickets are under 300 characters; a cap keeps a hostile query string from costing much.
export const MAX_TICKET_LENGTH = 4096

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const DIGEST = /^[A-Za-z0-9+/]{86}==$/
// PHP date('c') writes 2026-01-01T10:00:00+00:00; strtotime also reads Z, +0000 and fractions.
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/

export function parseTicket (ticket: string | undefined): ParsedTicket {
  if (ticket === undefined || ticket === '') throw new GW_ERR_TICKET_MISSING()
  if (ticket.length > MAX_TICKET_LENGTH) throw new GW_ERR_TICKET_MALFORMED(`it is longer than ${MAX_TICKET_LENGTH} characters`)
  // A '+' left unencoded in the URL arrives as ' ' after query decoding; space is never base64.
  const encoded = ticket.trim().replaceAll(' ', '+')
  if (!BASE64.test(encoded)) throw new GW_ERR_TICKET_MALFORMED('it is not base64')

  const parts = Buffer.from(encoded, 'base64').toString('utf8').split(';')
  if (parts.length < 4) throw new GW_ERR_TICKET_MALFORMED('it does not hold four fields separated by ";"')
  // Oro's explode(';') assumes no ';' in the username. Digest (base64), nonce (hex) and created
  // (ISO-8601) never hold one, so the username is everything between them: the same fields
  // for every ticket Oro can issue, and a username with ';' still verifies.
  const digest = parts[0] as string
  const created = parts[parts.length - 1] as string
  const nonce = parts[parts.length - 2] as string
  const username = parts.slice(1, -2).join(';')

  if (!DIGEST.test(digest)) throw new GW_ERR_TICKET_MALFORMED('its digest is not 88 base64 characters')
  const createdSeconds = parseCreated(created)
  if (createdSeconds === undefined) {
    throw new GW_ERR_TICKET_MALFORMED(`its creation time ${JSON.stringify(created.slice(0, 40))} is not an ISO-8601 time like 2026-01-01T10:00:00+00:00`)
  }
  return { digest, username, nonce, created, createdSeconds }
}

/** Unix seconds of an ISO-8601 date-time with an offset, or undefined when it is not one. */
export function parseCreated (created: string): number | undefined {
  const match = ISO_8601.exec(created)
  if (match === null) return undefined
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined
  let offsetMinutes = 0
  if (match[7] === undefined) {
    const offsetHours = Number(match[9])
    const offsetRest = Number(match[10])
    if (offsetHours > 23 || offsetRest > 59) return undefined
    offsetMinutes = (match[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetRest)
  }
  return Date.UTC(year, month - 1, day, hour, minute, second) / 1000 - offsetMinutes * 60
}

/** Throws unless the ticket's creation time is within [now - lifetime, now + skew]. */
export function checkCreated (ticket: ParsedTicket, nowMs: number, lifetimeSeconds: number, skewSeconds: number): void {
  const now = Math.floor(nowMs / 1000)
  if (ticket.createdSeconds - now > skewSeconds) throw new GW_ERR_TICKET_FUTURE(ticket.created, skewSeconds)
  if (now - ticket.createdSeconds > lifetimeSeconds) throw new GW_ERR_TICKET_EXPIRED(ticket.created, lifetimeSeconds)
}
