// Oro's user table in MySQL or MariaDB through a small mysql2 pool.
import mysql, { type RowDataPacket } from 'mysql2/promise'
import { ConfigError } from '../config/errors.js'
import type { MysqlDatabaseUrl } from './database-url.js'
import { mysqlOptions } from './database-connection.js'
import { quoteTable, toOroUser, USER_COLUMNS, type UserQueries, type UserQueriesOptions, type UserRow } from './user-queries.js'

export function createMysqlQueries (url: MysqlDatabaseUrl, options: UserQueriesOptions): UserQueries {
  const table = quoteTable(options.table, '`')
  let pool: mysql.Pool
  try {
    pool = mysql.createPool({
      ...mysqlOptions(url, options),
      connectionLimit: options.poolSize,
      maxIdle: options.poolSize,
      idleTimeout: 30_000,
      enableKeepAlive: true
    })
  } catch (error) {
    // mysql2 checks the charset name when the pool is made.
    throw new ConfigError(options.setting ?? 'ORO_DB_URL', `has options MySQL does not accept (${(error as Error).message})`, 'mysql://oro:secret@127.0.0.1:3306/oro_db?charset=utf8mb4')
  }

  // mysql2 leaves a query's timeout timer running when its connection dies under it: harmless,
  // but it can hold a process that is exiting for up to queryTimeoutMs.
  const one = async (sql: string, value: string): Promise<ReturnType<typeof toOroUser>> => {
    const [rows] = await pool.query<RowDataPacket[]>({ sql, timeout: options.queryTimeoutMs }, [value])
    return toOroUser(rows[0] as UserRow | undefined)
  }
  // Like Oro on MySQL, the username comparison follows the column's collation.
  const byUsername = `SELECT ${USER_COLUMNS} FROM ${table} WHERE username = ? LIMIT 1`
  const byEmail = `SELECT ${USER_COLUMNS} FROM ${table} WHERE LOWER(email) = LOWER(?) ORDER BY id LIMIT 1`
  const probe = `SELECT ${USER_COLUMNS} FROM ${table} WHERE 1 = 0`
  return {
    byUsername: async (username) => await one(byUsername, username),
    byEmail: async (email) => await one(byEmail, email),
    // Reads no row but needs the table and its columns: a wrong ORO_WEBSOCKET_USER_TABLE shows here.
    ping: async () => { await pool.query({ sql: probe, timeout: options.queryTimeoutMs }) },
    close: async () => { await pool.end() }
  }
}
