// What a routing rule is. Rules come from defaults.ts, a topics file or an Oro application's
// websocket_routing.yml files; the router compiles them once.

/** Policies a rule may declare (`policy:`). */
export const POLICIES = ['public', 'user', 'user-or-wildcard', 'ping'] as const
export type TopicPolicy = typeof POLICIES[number]
/**
 * What a rule runs with: a declared policy, or `unknown` when the route's handler is a class the
 * gateway cannot know (a custom bundle's topic service). Fail closed: nobody may subscribe to an
 * `unknown` route; backends may still publish to it.
 */
export type RulePolicy = TopicPolicy | 'unknown'

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
  policy: RulePolicy
  /** Oro's handler callback (`oro_email.event`), when the rule came from Oro's format. */
  callback?: string
  /** The PHP class of the topic service the callback names, when one was found. */
  handlerClass?: string
  /** Why the rule has its policy: `policy:`, the handler class and its file, Oro's callback, ... */
  policyFrom?: string
}

/** A rule as the caller logs it at start and `config` lists it. */
export interface LoadedRule {
  topic: string
  policy: RulePolicy
  /** `defaults`, or the file the rule came from. */
  source: string
  /** The source of the rule this one replaced, if any. */
  replaces?: string
  /** Oro's route name (the key in websocket_routing.yml). */
  route?: string
  callback?: string
  handlerClass?: string
  policyFrom?: string
}
