// What the doctor asks Oro's database: can it connect, does the user table the gateway reads
// exist (with the columns tickets need), and what is the application URL (Oro's system setting
// oro_ui.application_url, global scope: oro-compat §4), whose host is the browsers' Origin.
import pg from 'pg'
import mysql from 'mysql2/promise'
import { parseDatabaseUrl } from '../auth/database-url.js'
import { quoteTable, USER_COLUMNS } from '../auth/user-queries.js'

export interface DatabaseFindings {
  display: string
  /** Rows in the user table. */
  users: number
  /** The global oro_ui.application_url, or undefined when it is not set (or no oro_config table). */
  applicationUrl: string | undefined
}

export class DatabaseProbeError extends Error {
  constructor (readonly stage: 'connect' | 'users', message: string, readonly display: string) {
    super(message)
  }
}

/** Oro's config tables live next to its user table (same schema when the table is schema.table). */
function applicationUrlQuery (table: string, quote: '"' | '`'): string {
  const schema = table.includes('.') ? `${table.split('.')[0] as string}.` : ''
  return `SELECT v.text_value AS url FROM ${quoteTable(`${schema}oro_config_value`, quote)} v JOIN ${quoteTable(`${schema}oro_config`, quote)} c ON c.id = v.config_id
    WHERE c.entity = 'app' AND v.section = 'oro_ui' AND v.name = 'application_url' ORDER BY c.record_id LIMIT 1`
}

interface Connection {
  query: (sql: string) => Promise<Array<Record<string, unknown>>>
  close: () => Promise<void>
}

async function open (url: ReturnType<typeof parseDatabaseUrl>, timeoutMs: number): Promise<Connection> {
  if (url.driver === 'pg') {
    const client = new pg.Client({
      host: url.host, port: url.port, database: url.database,
      ...(url.user !== '' ? { user: url.user } : {}),
      ...(url.password !== '' ? { password: url.password } : {}),
      ssl: url.ssl,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      application_name: 'oro-websocket-gateway check'
    })
    client.on('error', () => {})
    await client.connect()
    return { query: async (sql) => (await client.query(sql)).rows as Array<Record<string, unknown>>, close: async () => { await client.end() } }
  }
  const connection = await mysql.createConnection({
    host: url.host, port: url.port, database: url.database,
    ...(url.user !== '' ? { user: url.user } : {}),
    password: url.password,
    ...(url.charset !== undefined ? { charset: url.charset } : {}),
    ...(url.socketPath !== undefined ? { socketPath: url.socketPath } : {}),
    connectTimeout: timeoutMs
  })
  connection.on('error', () => {})
  return {
    query: async (sql) => (await connection.query({ sql, timeout: timeoutMs }))[0] as Array<Record<string, unknown>>,
    close: async () => { await connection.end() }
  }
}

function reason (err: unknown): string {
  const e = err as { code?: string, message?: string }
  return [e.code, e.message].filter((part) => part !== undefined && part !== '').join(': ').slice(0, 200) || String(err)
}

/** Throws DatabaseProbeError; a ConfigError for a URL the gateway cannot use. */
export async function probeDatabase (databaseUrl: string, table: string, timeoutMs = 3000): Promise<DatabaseFindings> {
  const url = parseDatabaseUrl(databaseUrl)
  let connection: Connection
  try {
    connection = await open(url, timeoutMs)
  } catch (err) {
    throw new DatabaseProbeError('connect', reason(err), url.display)
  }
  try {
    let users: number
    try {
      const quoted = quoteTable(table, url.driver === 'pg' ? '"' : '`')
      // The columns the gateway reads, so a table without them shows here too.
      await connection.query(`SELECT ${USER_COLUMNS} FROM ${quoted} WHERE 1 = 0`)
      users = Number((await connection.query(`SELECT COUNT(*) AS n FROM ${quoted}`))[0]?.n ?? 0)
    } catch (err) {
      throw new DatabaseProbeError('users', reason(err), url.display)
    }
    let applicationUrl: string | undefined
    try {
      const value = (await connection.query(applicationUrlQuery(table, url.driver === 'pg' ? '"' : '`')))[0]?.url
      applicationUrl = typeof value === 'string' && value !== '' ? value : undefined
    } catch {
      applicationUrl = undefined
    }
    return { display: url.display, users, applicationUrl }
  } finally {
    await connection.close().catch(() => {})
  }
}
