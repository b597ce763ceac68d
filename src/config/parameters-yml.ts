// Legacy configuration (Oro before 5.1): the websocket_* keys of an Oro parameters.yml, turned into
// the three DSNs, with the websocket_host / websocket_port / websocket_path fallbacks for any key
// left unset, as OroSyncBundle did.
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

type Scalar = string | number | boolean | null

/** `path` is read; `file` (what the user typed) names it in errors. */
export function readParametersFile (path: string, file = path): LegacyDsns {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`--parameters ${file}`, `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'config/parameters.yml')
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
  return legacyDsns(root as Record<string, unknown>, file)
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
