// Session resumption by cookie (docs/auth.md, "Resuming sessions"): with the 101 the gateway sets a
// short, signed cookie that binds the identity it verified; a browser reconnecting with it and a
// well-formed, in-window ticket for the same user is admitted after one HMAC instead of a digest
// of 5,000 SHA-512 rounds (the ticket's digest is then checked in the background, see auth.ts).
//
// value = "1." + expiry (unix seconds) + "." + base64url(HMAC-SHA256(key, bound))
// bound = "1|" + expiry + "|" + client network + "|" + username + "|" + password hash
// key   = HMAC-SHA256(ORO_SECRET, "oro-websocket-gateway resume cookie v1")
// Nothing but the expiry is readable in it; a cookie for another user, from another network, made
// before the user's password changed or with another secret fails the MAC like a forged one.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { TtlCache } from './ttl-cache.js'

export const RESUME_COOKIE = 'oro_ws_resume'
// "1." + 10 digits + "." + 43 characters: anything longer is not ours and is not looked at.
const MAX_VALUE_LENGTH = 64
const MAC_LENGTH = 32

export interface ResumeCookieOptions {
  /** ORO_SECRET. */
  secret: string
  /** Lifetime of a cookie in seconds (Max-Age and the signed expiry). */
  ttlSeconds: number
  /** Cookie Path: the path the browser connects to (the FRONTEND DSN's), e.g. "/ws". */
  path: string
  /** Clock in ms. Default Date.now. */
  now?: () => number
}

export interface ResumeCookies {
  /** The Set-Cookie header value binding this identity to the client's network. */
  issue: (network: string, username: string, password: string, secure: boolean) => string
  /** Whether the Cookie header holds a cookie of ours at all (no HMAC): else no resume check. */
  present: (cookieHeader: string | undefined) => boolean
  /**
   * Whether the request's Cookie header holds a valid, unexpired cookie of ours for this network,
   * username and password hash. Costs one HMAC, and none when there is no cookie.
   */
  check: (cookieHeader: string | undefined, network: string, username: string, password: string) => boolean
  /** This request's cookie resumes no more sessions (its ticket's digest turned out wrong). */
  revoke: (cookieHeader: string | undefined) => void
  /** Cookies revoked and not expired yet. */
  readonly revoked: number
}

/** The value of cookie `name` in a Cookie header (the first one), or undefined. */
export function cookieValue (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  let at = 0
  while (at < header.length) {
    const end = header.indexOf(';', at)
    const pair = header.slice(at, end === -1 ? header.length : end)
    const eq = pair.indexOf('=')
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
    if (end === -1) break
    at = end + 1
  }
  return undefined
}

export function createResumeCookies (options: ResumeCookieOptions): ResumeCookies {
  const key = createHmac('sha256', options.secret).update('oro-websocket-gateway resume cookie v1').digest()
  const ttl = options.ttlSeconds
  const now = options.now ?? Date.now
  // A path that could end the attribute or the header (;, CR, LF, spaces...) is not used: "/".
  const path = /^\/[A-Za-z0-9._~%!$&'()*+,=:@/-]*$/.test(options.path) ? options.path : '/'
  // Revoked cookies (by their MAC) until they expire; bounded, the oldest forgotten first.
  const revoked = new TtlCache<true>(10_000)

  function parse (cookieHeader: string | undefined): { expiry: number, mac: string } | undefined {
    const value = cookieValue(cookieHeader, RESUME_COOKIE)
    if (value === undefined || value.length > MAX_VALUE_LENGTH) return undefined
    const match = /^1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value)
    return match === null ? undefined : { expiry: Number(match[1]), mac: match[2] as string }
  }

  function mac (expiry: number, network: string, username: string, password: string): Buffer {
    return createHmac('sha256', key).update(`1|${expiry}|${network}|${username}|${password}`).digest()
  }

  return {
    issue (network, username, password, secure) {
      const expiry = Math.floor(now() / 1000) + ttl
      const value = `1.${expiry}.${mac(expiry, network, username, password).toString('base64url')}`
      return `${RESUME_COOKIE}=${value}; Path=${path}; Max-Age=${ttl}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`
    },
    present (cookieHeader) {
      return cookieHeader !== undefined && cookieHeader.includes(`${RESUME_COOKIE}=`)
    },
    check (cookieHeader, network, username, password) {
      const cookie = parse(cookieHeader)
      if (cookie === undefined) return false
      // Expired, or dated beyond what this gateway would issue (a cookie from a longer TTL).
      const nowSeconds = now() / 1000
      if (cookie.expiry <= nowSeconds || cookie.expiry > nowSeconds + ttl + 60) return false
      if (revoked.get(cookie.mac, now()) === true) return false
      const given = Buffer.from(cookie.mac, 'base64url')
      if (given.length !== MAC_LENGTH) return false
      return timingSafeEqual(given, mac(cookie.expiry, network, username, password))
    },
    revoke (cookieHeader) {
      const cookie = parse(cookieHeader)
      if (cookie !== undefined) revoked.set(cookie.mac, true, cookie.expiry * 1000)
    },
    get revoked () { return revoked.size }
  }
}

// The Set-Cookie header of an upgrade, kept on the raw request between the ticket check and ws
// writing the 101 (plugins/websocket.ts adds it to the 101's headers).
const kSetCookie = Symbol('resumeSetCookie')
type WithSetCookie = object & { [kSetCookie]?: string }

export function setCookieOnUpgrade (request: object, setCookie: string): void {
  (request as WithSetCookie)[kSetCookie] = setCookie
}

export function setCookieOf (request: object): string | undefined {
  return (request as WithSetCookie)[kSetCookie]
}
