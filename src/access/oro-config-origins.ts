// The origins Oro's own server allows, read from Oro's database as OroSyncBundle's
// ApplicationOriginProvider does: the host of the application URL of the global scope
// (oro_config.entity = 'app'; oro_config_value section 'oro_ui', name 'application_url'). An
// OroCommerce install also has website URLs (section 'oro_website', names 'url' and
// 'secure_url'); their global-scope values count too. Values of other scopes (users,
// organizations, single websites) do not: Oro's origin providers never read them.
// One short connection per read (every ORO_WEBSOCKET_ORIGINS_REFRESH seconds), nothing pooled.
import { parseDatabaseUrl, type DatabaseUrl } from '../auth/database-url.js'
import { openDatabaseConnection } from '../auth/database-connection.js'
import { hostOfUrl } from './origin.js'

/** One URL of Oro's global configuration: oro_ui.application_url, oro_website.url or .secure_url. */
export interface OroConfigUrl {
  section: string
  name: string
  url: string
}

export interface OroOriginSource {
  /** Hosts of the application and website URLs, deduplicated, in a stable order. */
  read: () => Promise<string[]>
  /** The URLs themselves, with the setting each comes from (what the doctor shows). */
  readUrls: () => Promise<OroConfigUrl[]>
}

export interface OroOriginSourceOptions {
  /** Schema (PostgreSQL) or database (MySQL) holding Oro's tables; default the connection's own. */
  schema?: string
  connectTimeoutMs?: number
  queryTimeoutMs?: number
  /** What PostgreSQL shows in pg_stat_activity. */
  applicationName?: string
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

// Both drivers take the same statement; only identifier quoting differs.
function statement (schema: string | undefined, quote: string): string {
  if (schema !== undefined && !IDENTIFIER.test(schema)) throw new RangeError(`schema "${schema}" must be an identifier`)
  const table = (name: string): string => schema === undefined ? `${quote}${name}${quote}` : `${quote}${schema}${quote}.${quote}${name}${quote}`
  return `SELECT v.section AS section, v.name AS name, v.text_value AS url FROM ${table('oro_config')} c JOIN ${table('oro_config_value')} v ON v.config_id = c.id
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
  const sql = statement(options.schema, url.driver === 'pg' ? '"' : '`')
  const connectionOptions = {
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    queryTimeoutMs: options.queryTimeoutMs ?? 5000,
    ...(options.applicationName !== undefined ? { applicationName: options.applicationName } : {})
  }
  const readUrls = async (): Promise<OroConfigUrl[]> => {
    const connection = await openDatabaseConnection(url, connectionOptions)
    try {
      const rows = await connection.query(sql)
      return rows.map((row) => ({ section: String(row.section), name: String(row.name), url: String(row.url) }))
    } finally {
      await connection.close()
    }
  }
  return {
    readUrls,
    read: async () => hostsOfUrls((await readUrls()).map((row) => row.url))
  }
}
