// Tells database failures apart, so the operator reads what to fix instead of "unavailable":
// the login was refused, the database does not exist, the server cannot be reached, the user
// table is wrong. Works on the errors of node-postgres (SQLSTATE codes) and mysql2 (MySQL error
// codes) and of Node's sockets. The driver's own message is kept for the log, with the password
// taken out.

import { GW_ERR_DATABASE_UNAVAILABLE } from '../errors.js'

export type DatabaseProblem = 'login' | 'access' | 'database' | 'table' | 'unreachable' | 'tls' | 'other'

export interface DatabaseFailure {
  problem: DatabaseProblem
  /** The driver's or the socket's code: 28P01, ER_BAD_DB_ERROR, ECONNREFUSED, ... */
  code: string
  /** Short, for /readyz and the 503 answer: "login refused (28P01)". */
  summary: string
  /** What to change. */
  hint: string
  /** The driver's message, password masked: for the log only. */
  detail: string
}

const LABELS: Record<DatabaseProblem, string> = {
  login: 'login refused',
  access: 'access denied',
  database: 'database does not exist',
  table: 'user table unusable',
  unreachable: 'unreachable',
  tls: 'TLS failed',
  other: 'query failed'
}

const HINTS: Record<DatabaseProblem, string> = {
  login: 'check the user and password in ORO_DB_URL',
  access: 'grant the user of ORO_DB_URL read access to the database and its user table',
  database: 'check the database name in ORO_DB_URL',
  table: 'check ORO_WEBSOCKET_USER_TABLE (Oro\'s oro_user) and the database of ORO_DB_URL',
  unreachable: 'check the host and port in ORO_DB_URL and that the database server runs and accepts connections from the gateway',
  tls: 'check sslmode in ORO_DB_URL (disable when the server has no TLS, require to skip verifying its certificate) and the server\'s certificate',
  other: 'see the driver\'s message in the gateway log'
}

// SQLSTATE classes and codes (PostgreSQL) and MySQL/MariaDB error codes.
const BY_CODE: Record<string, DatabaseProblem> = {
  '28P01': 'login', // invalid_password
  28000: 'login', // invalid_authorization_specification: no such role, pg_hba.conf refused
  '3D000': 'database', // invalid_catalog_name
  '42P01': 'table', // undefined_table
  '3F000': 'table', // invalid_schema_name
  42703: 'table', // undefined_column
  42501: 'access', // insufficient_privilege
  '57P03': 'unreachable', // cannot_connect_now: starting up, shutting down
  '57P01': 'unreachable', // admin_shutdown
  53300: 'unreachable', // too_many_connections
  ER_ACCESS_DENIED_ERROR: 'login',
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: 'login',
  ER_NOT_SUPPORTED_AUTH_MODE: 'login',
  ER_DBACCESS_DENIED_ERROR: 'access',
  ER_TABLEACCESS_DENIED_ERROR: 'access',
  ER_COLUMNACCESS_DENIED_ERROR: 'access',
  ER_BAD_DB_ERROR: 'database',
  ER_NO_SUCH_TABLE: 'table',
  ER_BAD_FIELD_ERROR: 'table',
  ER_CON_COUNT_ERROR: 'unreachable',
  ER_HOST_IS_BLOCKED: 'unreachable',
  ER_HOST_NOT_PRIVILEGED: 'access',
  ER_SERVER_SHUTDOWN: 'unreachable',
  PROTOCOL_CONNECTION_LOST: 'unreachable',
  PROTOCOL_SEQUENCE_TIMEOUT: 'unreachable',
  ECONNREFUSED: 'unreachable',
  ECONNRESET: 'unreachable',
  ENOTFOUND: 'unreachable',
  EAI_AGAIN: 'unreachable',
  ETIMEDOUT: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  EPIPE: 'unreachable',
  ENOENT: 'unreachable' // a unix_socket path that does not exist
}

// Node's certificate errors (UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID, ...).
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_)/

interface DriverError { code?: unknown, message?: unknown, errors?: unknown }

function codeOf (error: DriverError): string | undefined {
  if (typeof error.code === 'string' && error.code !== '') return error.code
  // Node's connect to a name with several addresses fails with an AggregateError.
  if (Array.isArray(error.errors)) {
    for (const inner of error.errors) {
      const code = codeOf(inner as DriverError)
      if (code !== undefined) return code
    }
  }
  return undefined
}

/** The message with every secret (as written and percent-encoded) replaced by ***. */
export function maskSecrets (text: string, secrets: readonly string[]): string {
  let masked = text
  for (const secret of secrets) {
    if (secret === '') continue
    for (const form of new Set([secret, encodeURIComponent(secret)])) masked = masked.split(form).join('***')
  }
  return masked
}

/** setting: the variable the URL came from (ORO_DB_URL or ORO_DB_DSN), named in the hint. */
export function classifyDatabaseError (caught: unknown, secrets: readonly string[] = [], setting = 'ORO_DB_URL'): DatabaseFailure {
  const error = (typeof caught === 'object' && caught !== null ? caught : { message: String(caught) }) as DriverError
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : String(caught)
  const code = codeOf(error)
  let problem: DatabaseProblem = code !== undefined ? BY_CODE[code] ?? (TLS_CODE.test(code) ? 'tls' : 'other') : 'other'
  // node-postgres reports its own timeouts and lost connections without a code.
  let shownCode = code ?? 'no code'
  if (code === undefined) {
    if (/timeout|timed out/i.test(message)) {
      problem = 'unreachable'
      shownCode = 'timeout'
    } else if (/does not support SSL/i.test(message)) {
      problem = 'tls'
      shownCode = 'no TLS on the server'
    } else if (/Connection terminated|ended unexpectedly|closed/i.test(message)) {
      problem = 'unreachable'
      shownCode = 'connection lost'
    }
  }
  return {
    problem,
    code: shownCode,
    summary: `${LABELS[problem]} (${shownCode})`,
    hint: HINTS[problem].replaceAll('ORO_DB_URL', setting),
    detail: maskSecrets(message, secrets).slice(0, 500)
  }
}

/** GW_ERR_DATABASE_UNAVAILABLE with what failed and what to change in `detail` (never in the HTTP body). */
export function databaseUnavailable (detail: string, cause: unknown): Error & { detail: string } {
  return Object.assign(new GW_ERR_DATABASE_UNAVAILABLE({ cause }), { detail })
}
