// What a routing rule is. Rules come from defaults.ts, a topics file or an Oro application's
// websocket_routing.yml files; the router compiles them once.

export const POLICIES = ['public', 'user', 'user-or-wildcard', 'ping'] as const
export type TopicPolicy = typeof POLICIES[number]

export interface PlaceholderRequirement {
  /** A regular expression for the whole placeholder value (anchored for you), e.g. `\d+`. */
  pattern?: string
  /** Also accept the literal `*` (a topic name, never a pattern). */
  wildcard?: boolean
}

export interface TopicRule {
  name?: string
  /** e.g. `oro/email_event/{user_id}/{organization_id}` */
  topic: string
  requirements?: Record<string, PlaceholderRequirement>
  policy: TopicPolicy
  /** Oro's handler callback (`oro_email.event`), when the rule came from Oro's format. */
  callback?: string
}

/** A rule as the caller logs it at start. */
export interface LoadedRule {
  topic: string
  policy: TopicPolicy
  /** `defaults`, or the file the rule came from. */
  source: string
  /** The source of the rule this one replaced, if any. */
  replaces?: string
}
