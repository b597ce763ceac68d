// Oro's user table in PostgreSQL through a small node-postgres pool.
import pg from 'pg'
import type { PgDatabaseUrl } from './database-url.js'
import { pgOptions } from './database-connection.js'
import { quoteTable, toOroUser, USER_COLUMNS, type UserQueries, type UserQueriesOptions, type UserRow } from './user-queries.js'

export function createPgQueries (url: PgDatabaseUrl, options: UserQueriesOptions): UserQueries {
  const table = quoteTable(options.table, '"')
  const pool = new pg.Pool({
    ...pgOptions(url, options),
    max: options.poolSize,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true
  })
  // An idle client whose server went away emits 'error' on the pool (unhandled, it would crash
  // the process). The pool drops that client; the next query opens a new connection and the
  // store reports the outcome.
  pool.on('error', () => {})

  const one = async (sql: string, value: string): Promise<ReturnType<typeof toOroUser>> => {
    const result = await pool.query<UserRow>(sql, [value])
    return toOroUser(result.rows[0])
  }
  const byUsername = `SELECT ${USER_COLUMNS} FROM ${table} WHERE username = $1 LIMIT 1`
  const byEmail = `SELECT ${USER_COLUMNS} FROM ${table} WHERE lower(email) = lower($1) ORDER BY id LIMIT 1`
  const probe = `SELECT ${USER_COLUMNS} FROM ${table} WHERE 1 = 0`
  return {
    byUsername: async (username) => await one(byUsername, username),
    byEmail: async (email) => await one(byEmail, email),
    // Reads no row but needs the table and its columns: a wrong ORO_WEBSOCKET_USER_TABLE shows here.
    ping: async () => { await pool.query(probe) },
    close: async () => { await pool.end() }
  }
}
