// Types of wamp-js-rule.mjs, for the TypeScript tests that share it.
export type ReconnectRuleName = 'master' | 'released'

export interface OroDelays { retryDelay: number, keepReconnectRetryDelay: number, keepReconnectTimeout: number }

export declare const ORO_DELAYS: Readonly<OroDelays>
export declare const RULES: readonly ReconnectRuleName[]

export interface NextAttempt {
  /** ms until the next attempt. */
  delay: number
  /** The page shows "connection lost" now. */
  showLost: boolean
  /** wamp.js's retryCount (attempts since the silent window, if any). */
  retryCount: number
}

export interface ReconnectRule {
  readonly rule: ReconnectRuleName
  readonly delays: Readonly<OroDelays>
  begin (now: number): void
  lost (now: number): NextAttempt
  failed (now: number): NextAttempt
  connected (): void
}

export declare function createReconnectRule (options?: Partial<OroDelays> & { rule?: ReconnectRuleName, scale?: number }): ReconnectRule
