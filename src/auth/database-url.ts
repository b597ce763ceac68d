// Reads ORO_DB_URL as Oro (Doctrine DBAL) writes it, e.g.
// postgres://oro:secret@127.0.0.1:5432/oro_db?sslmode=disable&charset=utf8&serverVersion=13.7
// Errors never repeat the URL: it holds the database password.
import { ConfigError } from '../config/errors.js'

export type DatabaseDriver = 'pg' | 'mysql'

interface DatabaseUrlBase {
  host: string
  port: number
  user: string
  password: string
  database: string
  /** Every query parameter as written (serverVersion, charset, ...); most are only tolerated. */
  params: Record<string, string>
  /** The URL with the password replaced by ***, for logs and /readyz. */
  display: string
}

export interface PgTls { rejectUnauthorized: boolean, checkServerIdentity?: () => undefined }

export interface PgDatabaseUrl extends DatabaseUrlBase {
  driver: 'pg'
  /** From sslmode; false = plain TCP. */
  ssl: false | PgTls
}

export interface MysqlDatabaseUrl extends DatabaseUrlBase {
  driver: 'mysql'
  charset?: string
  /** From unix_socket: connect through this socket instead of host:port. */
  socketPath?: string
}

export type DatabaseUrl = PgDatabaseUrl | MysqlDatabaseUrl

// Doctrine's scheme aliases (DriverManager::$driverSchemeAliases) plus the pdo-* driver names.
const SCHEMES: Record<string, DatabaseDriver> = {
  postgres: 'pg',
  postgresql: 'pg',
  pgsql: 'pg',
  'pdo-pgsql': 'pg',
  mysql: 'mysql',
  mysql2: 'mysql',
  'pdo-mysql': 'mysql',
  mariadb: 'mysql'
}
const DEFAULT_PORTS: Record<DatabaseDriver, number> = { pg: 5432, mysql: 3306 }
const EXAMPLE = 'postgres://oro_db_user:oro_db_pass@127.0.0.1:5432/oro_db?sslmode=disable&serverVersion=13.7'
const URL_PATTERN = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?(?:#.*)?$/

export function parseDatabaseUrl (input: string, setting = 'ORO_DB_URL'): DatabaseUrl {
  const fail = (problem: string): ConfigError => new ConfigError(setting, problem, EXAMPLE)
  const match = URL_PATTERN.exec(input.trim())
  if (match === null) throw fail('is not a URL of the form scheme://user:password@host:port/database')

  const scheme = (match[1] as string).toLowerCase()
  const driver = SCHEMES[scheme]
  if (driver === undefined) {
    throw fail(`has scheme "${scheme.slice(0, 20)}", which the gateway cannot use; use one of ${Object.keys(SCHEMES).join(', ')} (PostgreSQL or MySQL/MariaDB)`)
  }

  const authority = match[2] as string
  // An @ past the authority: the password holds an unescaped / ? or #, and the rest would be read
  // as host, port or database (and a fragment of the password echoed in the message).
  if (input.lastIndexOf('@') > input.indexOf('://') + 3 + authority.length) {
    throw fail('has an unescaped "/", "?" or "#" in its user name or password; percent-encode them as %2F, %3F and %23')
  }
  const at = authority.lastIndexOf('@')
  const userInfo = at === -1 ? '' : authority.slice(0, at)
  const colon = userInfo.indexOf(':')
  const user = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), () => fail('has malformed percent-encoding in its user name'))
  const password = colon === -1 ? '' : decode(userInfo.slice(colon + 1), () => fail('has malformed percent-encoding in its password'))
  const { host, port } = splitHostPort(authority.slice(at + 1), DEFAULT_PORTS[driver], fail)

  const database = decode(match[3] ?? '', () => fail('has malformed percent-encoding in its database name'))
  if (database === '' || database.includes('/')) throw fail('needs the database name as its path, e.g. /oro_db')

  const params = Object.fromEntries(new URLSearchParams(match[4] ?? ''))
  const shown = `${scheme}://${user}${password !== '' ? ':***' : ''}${user !== '' || password !== '' ? '@' : ''}${host.includes(':') ? `[${host}]` : host}:${port}/${database}`
  const base = { host, port, user, password, database, params, display: shown }

  if (driver === 'pg') return { ...base, driver, ssl: pgTls(params.sslmode, fail) }
  return {
    ...base,
    driver,
    ...(params.charset !== undefined && params.charset !== '' ? { charset: params.charset } : {}),
    ...(params.unix_socket !== undefined && params.unix_socket !== '' ? { socketPath: params.unix_socket } : {})
  }
}

function decode (text: string, fail: () => ConfigError): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw fail()
  }
}

function splitHostPort (hostPort: string, defaultPort: number, fail: (problem: string) => ConfigError): { host: string, port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*)(?::(\d*))?$/.exec(hostPort)
  // A port that is not a number is named as the port, not as a bad host.
  const badPort = /^(?:\[[0-9a-fA-F:.]+\]|[^:[\]]*):([^:[\]]*)$/.exec(hostPort)?.[1]
  if (match === null && badPort !== undefined) throw fail(`has a port "${badPort.slice(0, 20)}" that is not a number`)
  if (match === null) throw fail('has a host that is neither a name, an IPv4 address nor an [IPv6] address')
  const rawHost = match[1] as string
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : decode(rawHost, () => fail('has malformed percent-encoding in its host'))
  const port = match[2] === undefined || match[2] === '' ? defaultPort : Number(match[2])
  if (port < 1 || port > 65535) throw fail(`has port ${port} outside 1-65535`)
  return { host: host === '' ? 'localhost' : host, port }
}

// libpq's sslmode. node-postgres cannot fall back from TLS to plain TCP, so allow and prefer
// (libpq's default) connect without TLS, which always works where PHP's connection works.
function pgTls (sslmode: string | undefined, fail: (problem: string) => ConfigError): false | PgTls {
  switch (sslmode) {
    case undefined: case '': case 'disable': case 'allow': case 'prefer':
      return false
    case 'require':
      return { rejectUnauthorized: false }
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined }
    case 'verify-full':
      return { rejectUnauthorized: true }
    default:
      throw fail(`has sslmode "${sslmode.slice(0, 20)}"; use disable, allow, prefer, require, verify-ca or verify-full`)
  }
}
