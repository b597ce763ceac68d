// The origins Oro's own server allows, read from Oro's database as OroSyncBundle's
// ApplicationOriginProvider does: the host of the application URL of the global scope
// (oro_config.entity = 'app'; oro_config_value section 'oro_ui', name 'application_url'). An
// OroCommerce install also has website URLs (section 'oro_website', names 'url' and
// 'secure_url'); their global-scope values count too. Values of other scopes (users,
// organizations, single websites) do not: Oro's origin providers never read them.
// One short connection per read (every ORO_WEBSOCKET_ORIGINS_REFRESH seconds), nothing pooled.
import pg from 'pg'
import mysql, { type RowDataPacket } from 'mysql2/promise'
import { parseDatabaseUrl, type DatabaseUrl } from '../auth/database-url.js'
import { hostOfUrl } from './origin.js'

export interface OroOriginSource {
  /** Hosts of the application and website URLs, deduplicated, in a stable order. */
  read: () => Promise<string[]>
}

export interface OroOriginSourceOptions {
  /** Schema (PostgreSQL) or database (MySQL) holding Oro's tables; default the connection's own. */
  schema?: string
  connectTimeoutMs?: number
  queryTimeoutMs?: number
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

// Both drivers take the same statement; only identifier quoting differs.
function statement (schema: string | undefined, quote: string): string {
  if (schema !== undefined && !IDENTIFIER.test(schema)) throw new RangeError(`schema "${schema}" must be an identifier`)
  const table = (name: string): string => schema === undefined ? `${quote}${name}${quote}` : `${quote}${schema}${quote}.${quote}${name}${quote}`
  return `SELECT v.text_value AS url FROM ${table('oro_config')} c JOIN ${table('oro_config_value')} v ON v.config_id = c.id
    WHERE c.entity = 'app' AND v.text_value IS NOT NULL
      AND ((v.section = 'oro_ui' AND v.name = 'application_url') OR (v.section = 'oro_website' AND v.name IN ('url', 'secure_url')))
    ORDER BY v.section, v.name, c.id`
}

/** Hosts of URLs, as OriginExtractor::fromUrl takes them, each once. */
export function hostsOfUrls (urls: Iterable<string>): string[] {
  const hosts: string[] = []
  for (const url of urls) {
    const host = hostOfUrl(url)
    if (host !== undefined && !hosts.includes(host)) hosts.push(host)
  }
  return hosts
}

export function createOroOriginSource (databaseUrl: string, options: OroOriginSourceOptions = {}): OroOriginSource {
  const url: DatabaseUrl = parseDatabaseUrl(databaseUrl)
  const connectTimeoutMs = options.connectTimeoutMs ?? 2000
  const queryTimeoutMs = options.queryTimeoutMs ?? 5000
  if (url.driver === 'pg') {
    const sql = statement(options.schema, '"')
    return {
      async read () {
        const client = new pg.Client({
          host: url.host,
          port: url.port,
          database: url.database,
          ...(url.user !== '' ? { user: url.user } : {}),
          ...(url.password !== '' ? { password: url.password } : {}),
          ssl: url.ssl,
          connectionTimeoutMillis: connectTimeoutMs,
          query_timeout: queryTimeoutMs,
          application_name: 'oro-websocket-gateway'
        })
        // A connection lost mid-read is reported by the query; this keeps it from being unhandled.
        client.on('error', () => {})
        try {
          await client.connect()
          const result = await client.query<{ url: string }>(sql)
          return hostsOfUrls(result.rows.map((row) => row.url))
        } finally {
          await client.end().catch(() => {})
        }
      }
    }
  }
  const sql = statement(options.schema, '`')
  return {
    async read () {
      const connection = await mysql.createConnection({
        host: url.host,
        port: url.port,
        database: url.database,
        ...(url.user !== '' ? { user: url.user } : {}),
        password: url.password,
        ...(url.charset !== undefined ? { charset: url.charset } : {}),
        ...(url.socketPath !== undefined ? { socketPath: url.socketPath } : {}),
        connectTimeout: connectTimeoutMs
      })
      connection.on('error', () => {})
      try {
        const [rows] = await connection.query<RowDataPacket[]>({ sql, timeout: queryTimeoutMs })
        return hostsOfUrls(rows.map((row) => String(row.url)))
      } finally {
        await connection.end().catch(() => {})
      }
    }
  }
}
