// What each database driver provides to the user store: two lookups on Oro's user table, a ping,
// and close. Rows are mapped here so PostgreSQL's boolean and MySQL's tinyint read the same.

export interface OroUser {
  id: number
  username: string
  email: string
  /** The stored password hash: tickets are signed with it. */
  password: string
  enabled: boolean
}

export interface UserQueries {
  byUsername: (username: string) => Promise<OroUser | null>
  /** Case-insensitive. */
  byEmail: (email: string) => Promise<OroUser | null>
  ping: () => Promise<void>
  close: () => Promise<void>
}

export interface UserQueriesOptions {
  /** `table` or `schema.table`. */
  table: string
  poolSize: number
  connectTimeoutMs: number
  queryTimeoutMs: number
  /** The variable the URL came from (ORO_DB_DSN or ORO_DB_URL), named in errors; ORO_DB_URL when not given. */
  setting?: string
}

export interface UserRow {
  id: number | string
  username: string
  email: string
  password: string | null
  enabled: boolean | number | string
}

export function toOroUser (row: UserRow | undefined): OroUser | null {
  if (row === undefined) return null
  return {
    id: Number(row.id),
    username: row.username,
    email: row.email,
    password: row.password ?? '',
    enabled: row.enabled === true || row.enabled === 1 || row.enabled === '1' || row.enabled === 't'
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The table name quoted for SQL; only plain identifiers are accepted, so nothing can be injected. */
export function quoteTable (table: string, quote: '"' | '`'): string {
  const parts = table.split('.')
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new RangeError(`user table "${table}" must be an identifier or schema.identifier`)
  }
  return parts.map((part) => `${quote}${part}${quote}`).join('.')
}

export const USER_COLUMNS = 'id, username, email, password, enabled'
