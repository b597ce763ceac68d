// The Origin check before the upgrade (Gos OriginCheck): allowed are localhost, 127.0.0.1 and the
// FRONTEND DSN's host unless ORO_WEBSOCKET_ALLOWED_ORIGINS says otherwise. Matching is on the
// host; an entry with a scheme or a port must match those too. A bare header without a scheme
// (Oro's backend sends `Origin: 127.0.0.1`) is read as a host.

interface OriginParts {
  scheme?: string
  host: string
  port?: string
}

export interface OriginPolicy {
  allows (origin: string | undefined): boolean
  readonly entries: readonly string[]
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

export function createOriginPolicy (entries: readonly string[]): OriginPolicy {
  if (entries.includes('*')) return { entries, allows: () => true }
  const allowed = entries.map((entry) => {
    const parts = parse(entry)
    if (parts === null) throw new OriginListError(`"${entry}" is not a host or origin`)
    return parts
  })
  return {
    entries,
    allows (origin) {
      if (origin === undefined) return false
      const parts = parse(origin)
      if (parts === null) return false
      return allowed.some((a) => a.host === parts.host &&
        (a.scheme === undefined || a.scheme === parts.scheme) &&
        (a.port === undefined || a.port === parts.port))
    }
  }
}

/** The default list: localhost, 127.0.0.1 and the frontend host when it is not '*'. */
export function defaultOrigins (frontendHost: string): string[] {
  const list = ['localhost', '127.0.0.1']
  if (frontendHost !== '*' && frontendHost !== '' && !list.includes(frontendHost)) list.push(frontendHost)
  return list
}
