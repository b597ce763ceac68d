// One short connection to Oro's database (PostgreSQL or MySQL/MariaDB), nothing pooled: for the
// reads that happen now and then (the origins from Oro's configuration, the doctor's probes). The
// user lookups, which happen all the time, have their pools (pg-users.ts, mysql-users.ts).
import pg from 'pg'
import mysql from 'mysql2/promise'
import type { DatabaseUrl, MysqlDatabaseUrl, PgDatabaseUrl } from './database-url.js'

export interface DatabaseConnection {
  /** Rows of one statement without parameters. */
  query: (sql: string) => Promise<Array<Record<string, unknown>>>
  close: () => Promise<void>
}

export interface ConnectionOptions {
  connectTimeoutMs: number
  queryTimeoutMs: number
  /** What PostgreSQL shows in pg_stat_activity. */
  applicationName?: string
}

/** node-postgres' options for ORO_DB_URL (a Client's; a Pool takes them too). */
export function pgOptions (url: PgDatabaseUrl, options: ConnectionOptions): pg.ClientConfig {
  return {
    host: url.host,
    port: url.port,
    database: url.database,
    ...(url.user !== '' ? { user: url.user } : {}),
    ...(url.password !== '' ? { password: url.password } : {}),
    ssl: url.ssl,
    connectionTimeoutMillis: options.connectTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    application_name: options.applicationName ?? 'oro-websocket-gateway'
  }
}

/** mysql2's options for ORO_DB_URL (a connection's; a pool takes them too). */
export function mysqlOptions (url: MysqlDatabaseUrl, options: Pick<ConnectionOptions, 'connectTimeoutMs'>): mysql.ConnectionOptions {
  return {
    host: url.host,
    port: url.port,
    database: url.database,
    ...(url.user !== '' ? { user: url.user } : {}),
    password: url.password,
    ...(url.charset !== undefined ? { charset: url.charset } : {}),
    ...(url.socketPath !== undefined ? { socketPath: url.socketPath } : {}),
    connectTimeout: options.connectTimeoutMs
  }
}

export async function openDatabaseConnection (url: DatabaseUrl, options: ConnectionOptions): Promise<DatabaseConnection> {
  if (url.driver === 'pg') {
    const client = new pg.Client(pgOptions(url, options))
    // A connection lost mid-read is reported by the query; this keeps it from being unhandled.
    client.on('error', () => {})
    try {
      await client.connect()
    } catch (err) {
      await client.end().catch(() => {})
      throw err
    }
    return {
      query: async (sql) => (await client.query(sql)).rows as Array<Record<string, unknown>>,
      close: async () => { await client.end().catch(() => {}) }
    }
  }
  const connection = await mysql.createConnection(mysqlOptions(url, options))
  connection.on('error', () => {})
  return {
    query: async (sql) => (await connection.query({ sql, timeout: options.queryTimeoutMs }))[0] as Array<Record<string, unknown>>,
    close: async () => { await connection.end().catch(() => {}) }
  }
}
