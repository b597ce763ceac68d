// What an upgrade request is to the gateway, and what deciding it gives: a session's identity and
// rights, or a refusal (an HTTP answer with a GW_ERR_* code; Oro's browser code retries it).
import type { IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import type { Identity } from '../auth/identity.js'
import type { RecheckResult } from '../auth/resume-recheck.js'

export interface UpgradeRequest {
  headers: IncomingHttpHeaders
  /** The `ticket` query parameter, as given (checked here). */
  ticket: unknown
  /** The client's TCP (or TLS) connection. */
  socket: Socket
}

export interface UpgradeDecision {
  identity: Identity
  /** A backend session: may publish, gets the backend message limit, not counted per user. */
  canPublish: boolean
  /** Where the client really is (for logs). */
  address: string
  /** A session resumed by cookie: what the check of its ticket's digest, done afterwards, found. */
  recheck?: Promise<RecheckResult>
  /** The resume cookie (docs/auth.md, "Resuming sessions") set with the 101. */
  setCookie?: string
}

/** A GW_ERR_* error: its code, status and message are the answer's. */
export type RefusalError = Error & { code?: string, statusCode?: number }

export type Verdict =
  | { accepted: true, decision: UpgradeDecision }
  | { accepted: false, error: RefusalError, retryAfter?: string }

/** Origin, admission, ticket and resume cookie (authenticate.ts). */
export type Authenticate = (request: UpgradeRequest) => Promise<Verdict>

export function refused (error: RefusalError, retryAfter?: string): Verdict {
  return retryAfter === undefined ? { accepted: false, error } : { accepted: false, error, retryAfter }
}
