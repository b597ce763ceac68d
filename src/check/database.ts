// What the doctor asks Oro's database: can it connect, does the user table the gateway reads
// exist (with the columns tickets need), and what are the application and website URLs of Oro's
// global configuration (oro-compat §4): the application URL's origin is what browsers send, and
// the hosts of all of them are the origins the gateway allows from the database. The URLs are
// read as the gateway reads them (src/access/oro-config-origins.ts); failures are told apart as
// the gateway tells them (src/auth/database-error.ts).
import { parseDatabaseUrl } from '../auth/database-url.js'
import { openDatabaseConnection, type DatabaseConnection } from '../auth/database-connection.js'
import { classifyDatabaseError, type DatabaseFailure } from '../auth/database-error.js'
import { quoteTable, USER_COLUMNS } from '../auth/user-queries.js'
import { createOroOriginSource, hostsOfUrls, type OroConfigUrl } from '../access/oro-config-origins.js'

export interface DatabaseFindings {
  display: string
  /** Rows in the user table. */
  users: number
  /** The global oro_ui.application_url, or undefined when it is not set (or no oro_config table). */
  applicationUrl: string | undefined
  /** Hosts of the global application and website URLs: the origins the gateway adds from the database. */
  origins: string[]
}

export class DatabaseProbeError extends Error {
  constructor (readonly stage: 'connect' | 'users', readonly failure: DatabaseFailure, readonly display: string) {
    super(`${failure.summary}: ${failure.detail}`)
  }
}

const APPLICATION_NAME = 'oro-websocket-gateway check'

/** Oro's configuration tables live next to its user table (same schema when the table is schema.table). */
async function configUrls (databaseUrl: string, table: string, timeoutMs: number): Promise<OroConfigUrl[]> {
  const schema = table.includes('.') ? table.slice(0, table.indexOf('.')) : undefined
  try {
    const source = createOroOriginSource(databaseUrl, { ...(schema !== undefined ? { schema } : {}), connectTimeoutMs: timeoutMs, queryTimeoutMs: timeoutMs, applicationName: APPLICATION_NAME })
    return await source.readUrls()
  } catch {
    // No oro_config tables (not an Oro database, or another schema): nothing to show.
    return []
  }
}

/** Throws DatabaseProbeError; a ConfigError for a URL the gateway cannot use. */
export async function probeDatabase (databaseUrl: string, table: string, timeoutMs = 3000, setting = 'ORO_DB_URL'): Promise<DatabaseFindings> {
  const url = parseDatabaseUrl(databaseUrl, setting)
  const secrets = [url.password]
  let connection: DatabaseConnection
  try {
    connection = await openDatabaseConnection(url, { connectTimeoutMs: timeoutMs, queryTimeoutMs: timeoutMs, applicationName: APPLICATION_NAME })
  } catch (err) {
    throw new DatabaseProbeError('connect', classifyDatabaseError(err, secrets, setting), url.display)
  }
  let users: number
  try {
    const quoted = quoteTable(table, url.driver === 'pg' ? '"' : '`')
    // The columns the gateway reads, so a table without them shows here too.
    await connection.query(`SELECT ${USER_COLUMNS} FROM ${quoted} WHERE 1 = 0`)
    users = Number((await connection.query(`SELECT COUNT(*) AS n FROM ${quoted}`))[0]?.n ?? 0)
  } catch (err) {
    throw new DatabaseProbeError('users', classifyDatabaseError(err, secrets, setting), url.display)
  } finally {
    await connection.close()
  }
  const urls = await configUrls(databaseUrl, table, timeoutMs)
  const applicationUrl = urls.find((u) => u.section === 'oro_ui' && u.name === 'application_url' && u.url !== '')?.url
  return { display: url.display, users, applicationUrl, origins: hostsOfUrls(urls.map((u) => u.url)) }
}
