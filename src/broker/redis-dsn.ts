// ORO_WEBSOCKET_BROKER_DSN: which broker carries events between nodes. `memory://` (one node) or
// one of the Redis forms below. Errors are ConfigErrors that show the DSN with its passwords
// masked, never the passwords themselves.
//
//   redis://[[user]:password@]host[:6379][/db]
//   rediss://...                                          the same over TLS
//   redis-sentinel://[[user]:password@]host1[:26379],host2[:26379]/master[/db][?sentinel_password=...&sentinel_username=...]
//   rediss-sentinel://...                                 the same over TLS (sentinels and master)
//   redis-cluster://[[user]:password@]host1[:6379],host2[:6379]
//   rediss-cluster://...                                  the same over TLS
import { ConfigError } from '../config/errors.js'
import { maskUrl } from '../config/mask.js'

export interface RedisAddress {
  host: string
  port: number
}

interface RedisCommon {
  tls: boolean
  username?: string
  password?: string
}

export type BrokerTarget =
  | { kind: 'memory' }
  | RedisCommon & { kind: 'redis', host: string, port: number, db: number }
  | RedisCommon & { kind: 'sentinel', sentinels: RedisAddress[], name: string, db: number, sentinelUsername?: string, sentinelPassword?: string }
  | RedisCommon & { kind: 'cluster', nodes: RedisAddress[] }

export const BROKER_DSN_SETTING = 'ORO_WEBSOCKET_BROKER_DSN'
const EXAMPLE = 'ORO_WEBSOCKET_BROKER_DSN=redis://127.0.0.1:6379/0'

const SCHEMES: Record<string, { kind: 'redis' | 'sentinel' | 'cluster', tls: boolean, port: number }> = {
  redis: { kind: 'redis', tls: false, port: 6379 },
  rediss: { kind: 'redis', tls: true, port: 6379 },
  'redis-sentinel': { kind: 'sentinel', tls: false, port: 26379 },
  'rediss-sentinel': { kind: 'sentinel', tls: true, port: 26379 },
  'redis-cluster': { kind: 'cluster', tls: false, port: 6379 },
  'rediss-cluster': { kind: 'cluster', tls: true, port: 6379 }
}

const SECRET_QUERY = new Set(['sentinel_password'])

/** The DSN with every password replaced by `***`, for messages and logs (src/config/mask.ts). */
export function maskDsn (dsn: string): string {
  return maskUrl(dsn)
}

export function parseBrokerDsn (input: string, setting = BROKER_DSN_SETTING): BrokerTarget {
  const dsn = input.trim()
  const fail = (problem: string): never => {
    throw new ConfigError(setting, `= "${maskDsn(dsn)}" ${problem}`, EXAMPLE)
  }
  if (dsn === '' || /^memory:(\/\/)?$/i.test(dsn)) return { kind: 'memory' }
  if (/\s/.test(dsn)) fail('contains white space')
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(dsn)
  if (match === null) fail('is not a URL; expected memory:// or redis://[[user]:password@]host[:port][/db]')
  const [, rawScheme, authority, rawPath, rawQuery] = match as RegExpExecArray
  // An @ after the host part: the password holds an unescaped / ? or #, which would otherwise be
  // read as a host (and echoed in the message).
  if (dsn.lastIndexOf('@') > dsn.indexOf('://') + 3 + (authority as string).length) {
    fail('has an unescaped "/", "?" or "#" in its user name or password; percent-encode them as %2F, %3F and %23')
  }
  const scheme = (rawScheme as string).toLowerCase()
  const form = SCHEMES[scheme]
  if (form === undefined) fail(`has scheme "${scheme}", expected memory, ${Object.keys(SCHEMES).join(', ')}`)
  const { kind, tls, port: defaultPort } = form as NonNullable<typeof form>

  // Credentials: everything before the last '@'; user and password percent-decoded.
  let hosts = authority as string
  const credentials: RedisCommon = { tls }
  const at = hosts.lastIndexOf('@')
  if (at !== -1) {
    const userInfo = hosts.slice(0, at)
    hosts = hosts.slice(at + 1)
    const colon = userInfo.indexOf(':')
    const user = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), 'the user name', fail)
    const password = colon === -1 ? '' : decode(userInfo.slice(colon + 1), 'the password', fail)
    if (colon === -1) {
      // redis://secret@host is how some tools write a password alone; take it as the password.
      if (user !== '') credentials.password = user
    } else {
      if (user !== '') credentials.username = user
      if (password !== '') credentials.password = password
    }
  }

  if (hosts === '') fail('has no host')
  const addresses = hosts.split(',').map((part) => parseAddress(part, defaultPort, fail))
  if (kind === 'redis' && addresses.length > 1) fail(`lists ${addresses.length} hosts; use redis-sentinel:// or redis-cluster:// for several`)

  const segments = (rawPath as string).split('/').filter((s) => s !== '')
  const query = parseQuery(rawQuery ?? '', fail)
  const allowedQuery = kind === 'sentinel' ? ['sentinel_username', 'sentinel_password'] : []
  for (const key of Object.keys(query)) {
    if (!allowedQuery.includes(key)) fail(`has an unknown option "${key}"${allowedQuery.length > 0 ? ` (known: ${allowedQuery.join(', ')})` : ' (this form takes none)'}`)
  }

  if (kind === 'redis') {
    if (segments.length > 1) fail('has a path with several parts; the path is the database number: redis://host:6379/0')
    const address = addresses[0] as RedisAddress
    return { kind, ...credentials, host: address.host, port: address.port, db: parseDb(segments[0], fail) }
  }
  if (kind === 'sentinel') {
    const name = segments[0]
    if (name === undefined) fail('names no master; write redis-sentinel://host1:26379,host2:26379/mymaster[/db]')
    if (segments.length > 2) fail('has too many path parts; expected /master[/db]')
    const target: BrokerTarget = { kind, ...credentials, sentinels: addresses, name: decode(name as string, 'the master name', fail), db: parseDb(segments[1], fail) }
    if (query.sentinel_username !== undefined) target.sentinelUsername = query.sentinel_username
    if (query.sentinel_password !== undefined) target.sentinelPassword = query.sentinel_password
    return target
  }
  if (segments.length > 0) fail('has a path; Redis Cluster has only database 0: redis-cluster://host1:6379,host2:6379')
  return { kind, ...credentials, nodes: addresses }
}

/** A description for logs: scheme and hosts, never credentials. */
export function describeTarget (target: BrokerTarget): string {
  switch (target.kind) {
    case 'memory': return 'memory'
    case 'redis': return `redis${target.tls ? ' (TLS)' : ''} ${target.host}:${target.port} db ${target.db}`
    case 'sentinel': return `redis sentinel${target.tls ? ' (TLS)' : ''} ${target.sentinels.map(hostPort).join(',')} master ${target.name} db ${target.db}`
    case 'cluster': return `redis cluster${target.tls ? ' (TLS)' : ''} ${target.nodes.map(hostPort).join(',')}`
  }
}

function hostPort (a: RedisAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}

function parseAddress (part: string, defaultPort: number, fail: (problem: string) => never): RedisAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d*))?$/.exec(part)
  if (match === null) fail(`has a bad host "${part}"; write host:port, or [ipv6]:port`)
  const [, v6, name, port] = match as RegExpExecArray
  const host = (v6 ?? name) as string
  if (port === undefined || port === '') return { host, port: defaultPort }
  const n = Number(port)
  if (n < 1 || n > 65535) fail(`has port ${port}, expected 1-65535`)
  return { host, port: n }
}

function parseDb (segment: string | undefined, fail: (problem: string) => never): number {
  if (segment === undefined) return 0
  if (!/^\d{1,5}$/.test(segment)) fail(`has database "${segment}", expected a number like /0`)
  return Number(segment)
}

function parseQuery (query: string, fail: (problem: string) => never): Record<string, string> {
  const result: Record<string, string> = {}
  for (const pair of query.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const key = decode(eq === -1 ? pair : pair.slice(0, eq), 'an option name', fail)
    result[key] = decode(eq === -1 ? '' : pair.slice(eq + 1), SECRET_QUERY.has(key) ? 'a password' : `option ${key}`, fail)
  }
  return result
}

function decode (text: string, what: string, fail: (problem: string) => never): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return fail(`has a bad percent-encoding in ${what}; encode special characters as %XX`)
  }
}
