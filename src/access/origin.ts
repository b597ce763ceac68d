// The Origin check before the upgrade (Gos OriginCheck): allowed are localhost, 127.0.0.1, the
// FRONTEND DSN's host and the hosts of the application and website URLs in Oro's configuration
// (read from its database, see oro-config-origins.ts), unless ORO_WEBSOCKET_ALLOWED_ORIGINS says
// otherwise; a value starting with '+' adds to that list instead of replacing it. A replaced list
// still allows localhost and 127.0.0.1, as Oro's own server always does: Oro's PHP backend
// connects with `Origin: 127.0.0.1`, and refusing it loses every publish. Matching is on
// the host; an entry with a scheme or a port must match those too. A bare header without a
// scheme (Oro's backend sends `Origin: 127.0.0.1`) is read as a host.

interface OriginParts {
  scheme?: string
  host: string
  port?: string
}

/** Allowed whatever the setting says, as on Oro's own server (Gos OriginCheck). */
const ALWAYS = ['localhost', '127.0.0.1']

export interface OriginPolicy {
  allows (origin: string | undefined): boolean
  /** Every entry in effect, the database's hosts included. */
  readonly entries: readonly string[]
  /** True when hosts from Oro's configuration count: no ORO_WEBSOCKET_ALLOWED_ORIGINS, or a '+' value. */
  readonly extendable: boolean
  /** Replaces the hosts read from Oro's configuration (ignored unless extendable). */
  setDatabaseHosts (hosts: readonly string[]): void
}

function parse (text: string): OriginParts | null {
  const value = text.trim().toLowerCase()
  if (value === '' || value === 'null') return null
  const withScheme = /^([a-z][a-z0-9+.-]*):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(value)
  if (withScheme !== null) {
    const parts: OriginParts = { scheme: withScheme[1] as string, host: (withScheme[2] as string).replace(/^\[|\]$/g, '') }
    if (withScheme[3] !== undefined) parts.port = withScheme[3]
    return parts
  }
  const bare = /^(\[[^\]]+\]|[^:/\s]+)(?::(\d+))?$/.exec(value)
  if (bare === null) return null
  const parts: OriginParts = { host: (bare[1] as string).replace(/^\[|\]$/g, '') }
  if (bare[2] !== undefined) parts.port = bare[2]
  return parts
}

export class OriginListError extends Error {}

/** A fixed list, or (extendable) a base list the hosts of Oro's configuration are added to. */
export function createOriginPolicy (entries: readonly string[], extendable = false): OriginPolicy {
  const base = entries.map((entry) => ({ entry, parts: entry === '*' ? null : parse(entry) }))
  for (const { entry, parts } of base) if (entry !== '*' && parts === null) throw new OriginListError(`"${entry}" is not a host or origin`)
  const any = entries.includes('*')
  let extra: Array<{ entry: string, parts: OriginParts }> = []
  let all: readonly string[] = [...entries]
  return {
    get entries () { return all },
    extendable,
    setDatabaseHosts (hosts) {
      if (!extendable) return
      const known = new Set(base.map((b) => b.entry))
      extra = []
      for (const host of hosts) {
        const parts = parse(host)
        if (parts === null || known.has(host)) continue
        known.add(host)
        extra.push({ entry: host, parts })
      }
      all = [...entries, ...extra.map((e) => e.entry)]
    },
    allows (origin) {
      if (any) return true
      if (origin === undefined) return false
      const parts = parse(origin)
      if (parts === null) return false
      const matches = (a: OriginParts | null): boolean => a !== null && a.host === parts.host &&
        (a.scheme === undefined || a.scheme === parts.scheme) &&
        (a.port === undefined || a.port === parts.port)
      return base.some((b) => matches(b.parts)) || extra.some((e) => matches(e.parts))
    }
  }
}

/**
 * The policy ORO_WEBSOCKET_ALLOWED_ORIGINS asks for: unset, the default list plus Oro's
 * configuration; '+a,b', the same plus a and b; anything else, that list plus localhost and
 * 127.0.0.1 (always allowed, as by Oro: its backend sends `Origin: 127.0.0.1`).
 */
export function originPolicyFromSetting (value: string | undefined, frontendHost: string): OriginPolicy {
  const text = (value ?? '').trim()
  const split = (list: string): string[] => list.split(',').map((e) => e.trim().replace(/^\+/, '').trim()).filter((e) => e !== '')
  if (text === '') return createOriginPolicy(defaultOrigins(frontendHost), true)
  if (text.startsWith('+')) {
    const added = split(text).filter((e) => !defaultOrigins(frontendHost).includes(e))
    return createOriginPolicy([...defaultOrigins(frontendHost), ...added], true)
  }
  const listed = split(text)
  if (listed.includes('*')) return createOriginPolicy(listed)
  return createOriginPolicy([...ALWAYS, ...listed.filter((e) => !ALWAYS.includes(e))])
}

/** The host of an Origin header, or undefined when it is not one. */
export function originHost (origin: string | undefined): string | undefined {
  return origin === undefined ? undefined : parse(origin)?.host
}

/**
 * The host of a URL as Oro's OriginExtractor::fromUrl takes it: `https://shop.example.com:8443/x`
 * gives `shop.example.com`, a bare `shop.example.com` stays itself; undefined when there is none.
 */
export function hostOfUrl (url: string): string | undefined {
  const text = url.trim().replace(/^\/+/, '')
  if (text === '') return undefined
  const withScheme = text.includes('://') ? text : `http://${text}`
  let host: string
  try {
    host = new URL(withScheme).hostname
  } catch {
    return undefined
  }
  host = host.replace(/^\[|\]$/g, '').toLowerCase()
  return host === '' ? undefined : host
}

/** The default list: localhost, 127.0.0.1 and the frontend host when it is not '*'. */
export function defaultOrigins (frontendHost: string): string[] {
  const list = [...ALWAYS]
  if (frontendHost !== '*' && frontendHost !== '' && !list.includes(frontendHost)) list.push(frontendHost)
  return list
}
