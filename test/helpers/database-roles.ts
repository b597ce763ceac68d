// Database logins a test can refuse and then allow, to play an operator's mistakes and their fix:
// a PostgreSQL role without LOGIN (this PostgreSQL trusts loopback, so passwords are not checked)
// and a MariaDB user whose password is changed. Dropped at teardown.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import mysql from 'mysql2/promise'
import { MYSQL_URL, PG_URL } from './databases.js'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface UrlChanges { user?: string, password?: string, host?: string, port?: number, database?: string }

function withChanges (base: string, changes: UrlChanges): string {
  const url = new URL(base)
  if (changes.user !== undefined) url.username = encodeURIComponent(changes.user)
  if (changes.password !== undefined) url.password = encodeURIComponent(changes.password)
  if (changes.host !== undefined) url.hostname = changes.host
  if (changes.port !== undefined) url.port = String(changes.port)
  if (changes.database !== undefined) url.pathname = `/${changes.database}`
  return url.toString()
}

/** The test PostgreSQL's URL with some parts changed. */
export const pgUrl = (changes: UrlChanges = {}): string => withChanges(PG_URL, changes)
/** The test MariaDB's URL with some parts changed. */
export const mysqlUrl = (changes: UrlChanges = {}): string => withChanges(MYSQL_URL, changes)

export function uniqueName (prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`
}

/** A PostgreSQL role that may read `schema.table` but may not log in until allowLogin(). */
export async function pgRoleWithoutLogin (t: Teardown, table: string, password: string): Promise<{ role: string, allowLogin: () => Promise<void> }> {
  const role = uniqueName('gw_role')
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  const schema = table.includes('.') ? table.split('.')[0] as string : 'public'
  await admin.query(`CREATE ROLE ${role} NOLOGIN PASSWORD '${password.replace(/'/g, "''")}'`)
  await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`)
  await admin.query(`GRANT SELECT ON ${table} TO ${role}`)
  t.teardown(async () => {
    // Its sessions first: a role with open connections cannot be dropped.
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role])
    await admin.query(`DROP OWNED BY ${role}`)
    await admin.query(`DROP ROLE ${role}`)
    await admin.end()
  })
  return { role, allowLogin: async () => { await admin.query(`ALTER ROLE ${role} LOGIN`) } }
}

/** A MariaDB user that may read `table` with `password`, created with another password until setPassword(). */
export async function mysqlUserWithOtherPassword (t: Teardown, table: string): Promise<{ user: string, setPassword: (password: string) => Promise<void> }> {
  const user = uniqueName('gw_user')
  const admin = await mysql.createConnection(MYSQL_URL)
  const database = new URL(MYSQL_URL).pathname.slice(1)
  await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', randomBytes(12).toString('hex')])
  await admin.query(`GRANT SELECT ON \`${database}\`.\`${table}\` TO ?@?`, [user, '%'])
  t.teardown(async () => {
    await admin.query('DROP USER ?@?', [user, '%'])
    await admin.end()
  })
  return { user, setPassword: async (password) => { await admin.query('ALTER USER ?@? IDENTIFIED BY ?', [user, '%', password]) } }
}

/** Polls until check() is true; throws after timeoutMs (generous: this machine is shared). */
export async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
