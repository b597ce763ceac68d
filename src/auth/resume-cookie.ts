// Session resumption by cookie (docs/auth.md, "Resuming sessions"): with the 101 of a fully
// verified ticket the gateway sets a short, signed cookie that binds the identity it verified; a
// browser reconnecting with it and a well-formed, in-window ticket for the same user is admitted
// after one HMAC instead of a digest of 5,000 SHA-512 rounds (the ticket's digest is then checked
// within ORO_WEBSOCKET_RESUME_VERIFY_TIMEOUT, see src/upgrade/authenticate.ts).
//
// value = "2." + expiry (unix seconds) + "." + chain + "." + base64url(HMAC-SHA256(key, bound))
// bound = "2|" + expiry + "|" + chain + "|" + client network + "|" + username + "|" + password hash
// key   = HMAC-SHA256(ORO_SECRET, "oro-websocket-gateway resume cookie v2")
// chain = 12 random bytes (base64url) drawn when a ticket was verified by its digest.
// A resumed session gets no new cookie: the one cookie of a chain is all there is, its expiry is
// never extended, and a failed check revokes the chain. Nothing but the expiry and the chain id is
// readable in it; a cookie for another user, from another network, made before the user's
// password changed or with another secret fails the MAC like a forged one.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { TtlCache } from './ttl-cache.js'

export const RESUME_COOKIE = 'oro_ws_resume'
// "2." + up to 12 digits + "." + 16 + "." + 43 characters: anything longer is not ours.
const MAX_VALUE_LENGTH = 80
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
  /** The Set-Cookie header value binding this identity to the client's network: a new chain. */
  issue: (network: string, username: string, password: string, secure: boolean) => string
  /**
   * Whether the Cookie header holds a cookie of ours that is well-formed, in date and not revoked
   * (no HMAC, nothing looked up): only such a page is worth a resume check and admission's resume turn.
   */
  present: (cookieHeader: string | undefined) => boolean
  /**
   * The chain of the request's cookie when it is a valid, unexpired, unrevoked cookie of ours for
   * this network, username and password hash; else undefined. Costs one HMAC, none without a cookie.
   */
  check: (cookieHeader: string | undefined, network: string, username: string, password: string) => string | undefined
  /** The chain of this request's cookie resumes no more sessions (a ticket's digest turned out wrong). */
  revoke: (cookieHeader: string | undefined) => void
  /** Chains revoked and not expired yet. */
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
  const key = createHmac('sha256', options.secret).update('oro-websocket-gateway resume cookie v2').digest()
  const ttl = options.ttlSeconds
  const now = options.now ?? Date.now
  // A path that could end the attribute or the header (;, CR, LF, spaces...) is not used: "/".
  const path = /^\/[A-Za-z0-9._~%!$&'()*+,=:@/-]*$/.test(options.path) ? options.path : '/'
  // Revoked chains until their cookie expires; bounded, the oldest forgotten first.
  const revoked = new TtlCache<true>(10_000)

  function parse (cookieHeader: string | undefined): { expiry: number, chain: string, mac: string } | undefined {
    const value = cookieValue(cookieHeader, RESUME_COOKIE)
    if (value === undefined || value.length > MAX_VALUE_LENGTH) return undefined
    const match = /^2\.(\d{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(value)
    return match === null ? undefined : { expiry: Number(match[1]), chain: match[2] as string, mac: match[3] as string }
  }

  /** The cookie when it is in date and its chain not revoked (no HMAC yet). */
  function live (cookie: ReturnType<typeof parse>): ReturnType<typeof parse> {
    if (cookie === undefined) return undefined
    // Expired, or dated beyond what this gateway would issue (a cookie from a longer TTL).
    const nowSeconds = now() / 1000
    if (cookie.expiry <= nowSeconds || cookie.expiry > nowSeconds + ttl + 60) return undefined
    return revoked.get(cookie.chain, now()) === true ? undefined : cookie
  }

  function mac (expiry: number, chain: string, network: string, username: string, password: string): Buffer {
    return createHmac('sha256', key).update(`2|${expiry}|${chain}|${network}|${username}|${password}`).digest()
  }

  return {
    issue (network, username, password, secure) {
      const expiry = Math.floor(now() / 1000) + ttl
      const chain = randomBytes(12).toString('base64url')
      const value = `2.${expiry}.${chain}.${mac(expiry, chain, network, username, password).toString('base64url')}`
      return `${RESUME_COOKIE}=${value}; Path=${path}; Max-Age=${ttl}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`
    },
    present (cookieHeader) {
      return cookieHeader !== undefined && cookieHeader.includes(`${RESUME_COOKIE}=`) && live(parse(cookieHeader)) !== undefined
    },
    check (cookieHeader, network, username, password) {
      const cookie = live(parse(cookieHeader))
      if (cookie === undefined) return undefined
      const given = Buffer.from(cookie.mac, 'base64url')
      if (given.length !== MAC_LENGTH) return undefined
      return timingSafeEqual(given, mac(cookie.expiry, cookie.chain, network, username, password)) ? cookie.chain : undefined
    },
    revoke (cookieHeader) {
      // Only a cookie whose MAC was checked reaches here (its session was admitted by it).
      const cookie = parse(cookieHeader)
      if (cookie !== undefined) revoked.set(cookie.chain, true, cookie.expiry * 1000)
    },
    get revoked () { return revoked.size }
  }
}
