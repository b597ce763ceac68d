// Legacy configuration (Oro before 5.1): the websocket_* keys of an Oro parameters.yml, turned into
// the three DSNs, with the websocket_host / websocket_port / websocket_path fallbacks for any key
// left unset, as OroSyncBundle did; `secret` is ORO_SECRET and the database_* keys make the
// ORO_DB_URL that Oro 5.1 and later hold in .env-app.
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from './errors.js'

export interface LegacyDsn {
  value: string
  /** The parameters.yml keys the DSN was built from. */
  keys: string[]
}

export interface LegacyDsns {
  ORO_WEBSOCKET_SERVER_DSN?: LegacyDsn
  ORO_WEBSOCKET_FRONTEND_DSN?: LegacyDsn
  ORO_WEBSOCKET_BACKEND_DSN?: LegacyDsn
}

export interface LegacySettings extends LegacyDsns {
  ORO_SECRET?: LegacyDsn
  ORO_DB_URL?: LegacyDsn
}

type Scalar = string | number | boolean | null

/** `path` is read; `file` (what the user typed) names it in errors. */
export function readParametersFile (path: string, file = path): LegacySettings {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`--parameters ${file}`, `cannot be read (${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)})`, '--parameters /var/www/oroapp/config/parameters.yml')
  }
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw new ConfigError(`--parameters ${file}`, `is not valid YAML (${(err as Error).message.split('\n')[0]})`)
  }
  const root = (doc !== null && typeof doc === 'object' && 'parameters' in doc) ? (doc as { parameters: unknown }).parameters : doc
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new ConfigError(`--parameters ${file}`, 'has no "parameters:" mapping', 'parameters: { websocket_bind_port: 8080 }')
  }
  const params = root as Record<string, unknown>
  return { ...legacyDsns(params, file), ...legacySecret(params, file), ...legacyDatabase(params, file) }
}

/** `secret: ...` is Oro's application secret (ORO_SECRET). */
export function legacySecret (params: Record<string, unknown>, file = 'parameters.yml'): Pick<LegacySettings, 'ORO_SECRET'> {
  const secret = params.secret
  if (secret === undefined || secret === null || secret === '') return {}
  if (typeof secret === 'object') throw new ConfigError(`${file}: secret`, 'must be a single value, not a list or mapping', 'secret: ThisTokenIsNotSoSecretChangeIt')
  return { ORO_SECRET: { value: String(secret as Scalar), keys: ['secret'] } }
}

// Doctrine's pdo drivers as Oro's parameters.yml names them, and the URL scheme of each.
const DATABASE_DRIVERS: Record<string, string> = { pdo_pgsql: 'postgres', pdo_mysql: 'mysql' }

/**
 * database_driver, database_host, database_port, database_name, database_user and
 * database_password as one ORO_DB_URL (user and password percent-encoded, so any character works).
 */
export function legacyDatabase (params: Record<string, unknown>, file = 'parameters.yml'): Pick<LegacySettings, 'ORO_DB_URL'> {
  const keys = ['database_driver', 'database_host', 'database_port', 'database_name', 'database_user', 'database_password']
  const value = (key: string): string | undefined => {
    const v = params[key]
    if (v === undefined || v === null || v === '') return undefined
    if (typeof v === 'object') throw new ConfigError(`${file}: ${key}`, 'must be a single value, not a list or mapping', `${key}: ${key === 'database_port' ? '5432' : 'oro'}`)
    return String(v as Scalar)
  }
  const name = value('database_name')
  if (name === undefined) return {}
  const used = keys.filter((key) => value(key) !== undefined)
  const driver = value('database_driver') ?? 'pdo_pgsql'
  const scheme = DATABASE_DRIVERS[driver]
  if (scheme === undefined) {
    throw new ConfigError(`${file}: database_driver`, `= "${driver.slice(0, 40)}" is not a database the gateway can read; use pdo_pgsql or pdo_mysql`, 'database_driver: pdo_pgsql')
  }
  const port = value('database_port')
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw new ConfigError(`${file}: database_port`, `= "${port.slice(0, 20)}" is not a port number 1-65535`, `database_port: ${scheme === 'mysql' ? 3306 : 5432}`)
  }
  const user = value('database_user')
  const password = value('database_password')
  const credentials = user === undefined && password === undefined
    ? ''
    : `${encodeURIComponent(user ?? '')}${password !== undefined ? ':' + encodeURIComponent(password) : ''}@`
  const host = value('database_host') ?? '127.0.0.1'
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  const url = `${scheme}://${credentials}${hostPart}${port !== undefined ? ':' + port : ''}/${encodeURIComponent(name)}`
  return { ORO_DB_URL: { value: url, keys: used } }
}

export function legacyDsns (params: Record<string, unknown>, file = 'parameters.yml'): LegacyDsns {
  const used: string[] = []
  const get = (key: string, fallback?: string): string | undefined => {
    for (const k of fallback === undefined ? [key] : [key, fallback]) {
      const v = params[k]
      if (v === undefined || v === null || v === '') continue
      if (typeof v === 'object') throw new ConfigError(`${file}: ${k}`, 'must be a single value, not a list or mapping', `${k}: 8080`)
      used.push(k)
      return String(v as Scalar)
    }
    return undefined
  }
  // Only keys that are set make a DSN; unset parts take Oro's defaults.
  const build = (scheme: string, host: string | undefined, port: string | undefined, path: string | undefined, defaultHost: string, query = ''): string | undefined => {
    if (host === undefined && port === undefined && path === undefined && query === '') return undefined
    return `${scheme}//${host ?? defaultHost}:${port ?? '8080'}/${(path ?? '').replace(/^\/+/, '')}${query === '' ? '' : '?' + query}`
  }

  const result: LegacyDsns = {}

  used.length = 0
  const server = build('', get('websocket_bind_address', 'websocket_host'), get('websocket_bind_port', 'websocket_port'), undefined, '0.0.0.0')
  if (server !== undefined) result.ORO_WEBSOCKET_SERVER_DSN = { value: server, keys: [...used] }

  used.length = 0
  const frontend = build('', get('websocket_frontend_host', 'websocket_host'), get('websocket_frontend_port', 'websocket_port'), get('websocket_frontend_path', 'websocket_path'), '*')
  if (frontend !== undefined) result.ORO_WEBSOCKET_FRONTEND_DSN = { value: frontend, keys: [...used] }

  used.length = 0
  const transport = get('websocket_backend_transport')
  const sslOptions = params.websocket_backend_ssl_context_options
  let query = ''
  if (sslOptions !== undefined && sslOptions !== null) {
    if (typeof sslOptions !== 'object' || Array.isArray(sslOptions)) {
      throw new ConfigError(`${file}: websocket_backend_ssl_context_options`, 'must be a mapping', 'websocket_backend_ssl_context_options: { verify_peer: false }')
    }
    used.push('websocket_backend_ssl_context_options')
    query = Object.entries(sslOptions as Record<string, Scalar>)
      .map(([k, v]) => `context_options[${encodeURIComponent(k)}]=${encodeURIComponent(String(v))}`)
      .join('&')
  }
  let backendHost = get('websocket_backend_host', 'websocket_host')
  if (backendHost === '*') backendHost = '127.0.0.1'
  const backend = build(`${transport ?? 'tcp'}:`, backendHost, get('websocket_backend_port', 'websocket_port'), get('websocket_backend_path', 'websocket_path'), '127.0.0.1', query)
  if (backend !== undefined) result.ORO_WEBSOCKET_BACKEND_DSN = { value: backend, keys: [...used] }

  return result
}
