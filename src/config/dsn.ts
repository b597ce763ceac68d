// Parses Oro's websocket DSNs the way OroSyncBundle does (PHP parse_url + parse_str):
// scheme defaults to tcp, host to '', port to 8080, the path is trimmed of '/', and the query is
// PHP-style (`context_options[verify_peer]=false` nests). Anything PHP's parse_url would refuse,
// and anything the gateway cannot use, is a DsnError that says what to change.

export type QueryValue = string | QueryObject | QueryValue[]
export interface QueryObject { [key: string]: QueryValue }

export interface Dsn {
  /** PHP stream transport or URL scheme as written ('tcp' when absent). */
  scheme: string
  /** '' when absent; '*' means "any" (frontend: the page's host, backend: 127.0.0.1). */
  host: string
  port: number
  /** Without leading or trailing '/'. */
  path: string
  query: QueryObject
  user?: string
  password?: string
}

export class DsnError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'DsnError'
  }
}

export const DEFAULT_PORT = 8080

// scheme://user:pass@host:port/path?query#fragment, or //host:port/path, or host:port
const DSN_PATTERN = /^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#.*)?$/

export function parseDsn (input: string): Dsn {
  const dsn = input.trim()
  if (dsn === '') throw new DsnError('is empty')
  if (/\s/.test(dsn)) throw new DsnError('contains white space')

  let match = DSN_PATTERN.exec(dsn)
  // "127.0.0.1:8080" without "//": PHP reads it as host:port too.
  if (match !== null && match[2] === undefined && /^[^/:]+:\d+(?:[/?#]|$)/.test(dsn)) {
    match = DSN_PATTERN.exec('//' + dsn)
  }
  if (match === null) throw new DsnError('is not a URL of the form [scheme:]//host:port[/path][?query]')

  const scheme = (match[1] ?? 'tcp').toLowerCase()
  const authority = match[2] ?? ''
  const path = trimSlashes(match[3] ?? '')
  const query = parsePhpQuery(match[4] ?? '')

  let userInfo: string | undefined
  let hostPort = authority
  const at = authority.lastIndexOf('@')
  if (at !== -1) {
    userInfo = authority.slice(0, at)
    hostPort = authority.slice(at + 1)
  }

  const { host, port } = splitHostPort(hostPort)
  const result: Dsn = { scheme, host, port, path, query }
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':')
    result.user = safeDecode(colon === -1 ? userInfo : userInfo.slice(0, colon), 'user name')
    if (colon !== -1) result.password = safeDecode(userInfo.slice(colon + 1), 'password')
  }
  return result
}

function splitHostPort (hostPort: string): { host: string, port: number } {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']')
    if (end === -1) throw new DsnError(`has an unterminated IPv6 address "${hostPort}"`)
    const host = hostPort.slice(1, end)
    const rest = hostPort.slice(end + 1)
    if (rest === '') return { host, port: DEFAULT_PORT }
    if (!rest.startsWith(':')) throw new DsnError(`has text after the IPv6 address: "${rest}"`)
    return { host, port: parsePort(rest.slice(1)) }
  }
  const colon = hostPort.lastIndexOf(':')
  if (colon === -1) return { host: hostPort, port: DEFAULT_PORT }
  const host = hostPort.slice(0, colon)
  if (host.includes(':')) throw new DsnError(`has an IPv6 host "${hostPort}" without brackets (write [::1]:8080)`)
  return { host, port: parsePort(hostPort.slice(colon + 1)) }
}

function parsePort (text: string): number {
  if (text === '') return DEFAULT_PORT
  if (!/^\d+$/.test(text)) throw new DsnError(`has a port "${text}" that is not a number`)
  const port = Number(text)
  if (port < 1 || port > 65535) throw new DsnError(`has a port ${text} outside 1-65535`)
  return port
}

function trimSlashes (path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}

function safeDecode (text: string, what: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    throw new DsnError(`has a malformed percent-encoding in the ${what} "${text}"`)
  }
}

/**
 * PHP's parse_str: `a=1&b[c]=2&b[d][]=3&e[]=4` → {a:'1', b:{c:'2', d:['3']}, e:['4']}.
 * Unlike PHP it refuses what PHP would silently mangle (an unbalanced bracket, a bad
 * percent-encoding), because a mistyped TLS option must not be ignored.
 */
export function parsePhpQuery (query: string): QueryObject {
  const result: QueryObject = {}
  if (query === '') return result
  for (const pair of query.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const rawKey = eq === -1 ? pair : pair.slice(0, eq)
    const value = eq === -1 ? '' : safeDecode(pair.slice(eq + 1), 'query value')
    const key = safeDecode(rawKey, 'query key')
    const path = splitQueryKey(key)
    assign(result, path, value, key)
  }
  return result
}

function splitQueryKey (key: string): string[] {
  const open = key.indexOf('[')
  if (open === -1) {
    if (key.includes(']')) throw new DsnError(`has a query key "${key}" with an unbalanced "]"`)
    if (key === '') throw new DsnError('has a query parameter without a name')
    return [key]
  }
  const base = key.slice(0, open)
  if (base === '') throw new DsnError(`has a query key "${key}" that starts with "["`)
  const parts = [base]
  const rest = key.slice(open)
  const segment = /\[([^[\]]*)\]/y
  let index = 0
  while (index < rest.length) {
    segment.lastIndex = index
    const m = segment.exec(rest)
    if (m === null) throw new DsnError(`has a query key "${key}" with unbalanced brackets (write name[sub]=value)`)
    parts.push(m[1] as string)
    index = segment.lastIndex
  }
  return parts
}

function assign (target: QueryObject, path: string[], value: string, key: string): void {
  let node: QueryObject | QueryValue[] = target
  for (let i = 0; i < path.length; i++) {
    const last = i === path.length - 1
    const part = path[i] as string
    if (Array.isArray(node)) {
      if (part !== '') throw new DsnError(`has a query key "${key}" that mixes list and named entries`)
      if (last) { node.push(value); return }
      const child: QueryObject | QueryValue[] = path[i + 1] === '' ? [] : {}
      node.push(child)
      node = child
      continue
    }
    if (part === '' && i > 0) throw new DsnError(`has a query key "${key}" that mixes list and named entries`)
    if (last) { node[part] = value; return }
    const wantList = path[i + 1] === ''
    let child: QueryValue | undefined = node[part]
    if (child !== undefined && typeof child !== 'string' && Array.isArray(child) !== wantList) {
      throw new DsnError(`has a query key "${key}" that mixes list and named entries`)
    }
    if (child === undefined || typeof child === 'string') {
      child = wantList ? [] : {}
      node[part] = child
    }
    node = child as QueryObject | QueryValue[]
  }
}

/** A DSN back as a URL for people to read, e.g. in the start-up log. */
export function formatDsnUrl (dsn: Dsn, scheme: string, hostForStar: string): string {
  const host = dsn.host === '*' || dsn.host === '' ? hostForStar : dsn.host
  const hostPart = host.includes(':') ? `[${host}]` : host
  return `${scheme}://${hostPart}:${dsn.port}/${dsn.path}`
}
