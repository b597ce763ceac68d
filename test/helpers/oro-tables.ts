// Oro's tables in a scratch schema (PostgreSQL) or database (MariaDB) of their own, made from the
// statements a test gives (with `{s}` for the schema and its types: datetime and boolean), dropped
// at teardown. `table` is the qualified oro_user for ORO_WEBSOCKET_USER_TABLE; `run` runs more SQL.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import mysql from 'mysql2/promise'
import { MYSQL_URL, PG_URL } from './databases.js'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface OroTables { url: string, table: string, run: (sql: string) => Promise<void> }

/** The statements of a test's tables for a database's datetime and boolean types. */
export type TableStatements = (datetime: string, bool: string) => string[]

function scratchName (prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`
}

export async function pgOroTables (t: Teardown, prefix: string, statements: TableStatements): Promise<OroTables> {
  const schema = scratchName(prefix)
  const run = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    try { await client.query(sql.replaceAll('{s}', schema)) } finally { await client.end() }
  }
  await run('CREATE SCHEMA {s}')
  t.teardown(async () => { await run('DROP SCHEMA {s} CASCADE') })
  for (const sql of statements('timestamp(0)', 'boolean')) await run(sql)
  return { url: PG_URL, table: `${schema}.oro_user`, run }
}

export async function mariaOroTables (t: Teardown, prefix: string, statements: TableStatements): Promise<OroTables> {
  const database = scratchName(prefix)
  const run = async (sql: string): Promise<void> => {
    const connection = await mysql.createConnection(MYSQL_URL)
    try { await connection.query(sql.replaceAll('{s}', database)) } finally { await connection.end() }
  }
  await run('CREATE DATABASE {s}')
  t.teardown(async () => { await run('DROP DATABASE {s}') })
  for (const sql of statements('datetime', 'tinyint(1)')) await run(sql)
  return { url: MYSQL_URL, table: `${database}.oro_user`, run }
}
