// Turns a parsed topics document into rules: either the gateway's list of rules or Oro's own
// websocket_routing.yml mapping. Every problem becomes a ConfigError naming the file and entry.
import { ConfigError } from '../config/errors.js'
import { compileRule, RuleProblem } from './compile.js'
import { POLICIES, type PlaceholderRequirement, type TopicPolicy, type TopicRule } from './rule.js'
import { createCallbackResolver, type CallbackResolver } from './topic-services.js'

type Obj = Record<string, unknown>

const LIST_KEYS = new Set(['name', 'topic', 'requirements', 'policy', 'callback'])
// Gos PubSubRouter also knows defaults and options; the gateway has no use for them.
const ORO_KEYS = new Set(['channel', 'handler', 'requirements', 'defaults', 'options', 'policy'])
const LIST_EXAMPLE = '- { topic: "oro/my_topic/{user_id}", requirements: { user_id: { pattern: "\\\\d+" } }, policy: user }'
const ORO_EXAMPLE = "my_bundle.my_topic: { channel: 'oro/my_topic', handler: { callback: 'my_bundle.my_topic' } }"

/**
 * `where` names the file in errors, e.g. `ORO_WEBSOCKET_TOPICS config/topics.yml`. `resolve`
 * gives the policy of an Oro route that declares none (from the application's topic services).
 */
export function parseTopicDocument (doc: unknown, where: string, resolve: CallbackResolver = createCallbackResolver()): TopicRule[] {
  if (doc === null || doc === undefined) return [] // an empty file: nothing to add
  if (Array.isArray(doc)) return doc.map((entry, i) => parseListEntry(entry, `${where}, rule ${i + 1}`))
  if (isObj(doc)) return Object.entries(doc).map(([name, entry]) => parseOroEntry(name, entry, `${where}, ${name}`, where, resolve))
  throw new ConfigError(where, 'must hold a list of rules or an Oro websocket_routing.yml mapping', LIST_EXAMPLE)
}

function parseListEntry (entry: unknown, at: string): TopicRule {
  if (!isObj(entry)) throw new ConfigError(at, 'must be a mapping with topic and policy', LIST_EXAMPLE)
  unknownKeys(entry, LIST_KEYS, at, LIST_EXAMPLE)
  const label = typeof entry.topic === 'string' ? `${at} (${entry.topic})` : at
  if (typeof entry.topic !== 'string' || entry.topic === '') throw new ConfigError(label, 'has no topic', LIST_EXAMPLE)
  const rule: TopicRule = { topic: entry.topic, policy: policyOf(entry.policy, label), policyFrom: 'policy:' }
  if (entry.name !== undefined) rule.name = stringOf(entry.name, 'name', label)
  if (entry.callback !== undefined) rule.callback = stringOf(entry.callback, 'callback', label)
  if (entry.requirements !== undefined && entry.requirements !== null) rule.requirements = requirementsOf(entry.requirements, label)
  return checked(rule, label)
}

function parseOroEntry (name: string, entry: unknown, at: string, file: string, resolve: CallbackResolver): TopicRule {
  if (!isObj(entry)) throw new ConfigError(at, 'must be a mapping with channel and handler', ORO_EXAMPLE)
  unknownKeys(entry, ORO_KEYS, at, ORO_EXAMPLE)
  if (typeof entry.channel !== 'string' || entry.channel === '') throw new ConfigError(at, 'has no channel (the topic)', ORO_EXAMPLE)
  const label = `${at} (${entry.channel})`
  let callback: string | undefined
  if (entry.handler !== undefined && entry.handler !== null) {
    if (!isObj(entry.handler)) throw new ConfigError(label, 'has a handler that is not a mapping', "handler: { callback: 'oro_sync.data_update' }")
    if (entry.handler.callback !== undefined) callback = stringOf(entry.handler.callback, 'handler.callback', label)
  }
  const rule: TopicRule = { name, topic: entry.channel, policy: 'unknown' }
  if (callback !== undefined) rule.callback = callback
  if (entry.policy !== undefined) {
    // A gateway extension: `policy:` next to Oro's keys, for a handler the gateway cannot know.
    rule.policy = policyOf(entry.policy, label)
    rule.policyFrom = `policy: in ${file}`
  } else {
    const found = resolve(callback)
    rule.policy = found.policy
    rule.policyFrom = found.policyFrom
    if (found.handlerClass !== undefined) rule.handlerClass = found.handlerClass
    // A per-user class on a route without {user_id}: Oro reads the id as 0, nobody's. Closed.
    if ((rule.policy === 'user' || rule.policy === 'user-or-wildcard') && !entry.channel.includes('{user_id}')) {
      rule.policy = 'unknown'
      rule.policyFrom += `, but the channel has no {user_id}`
    }
  }
  if (entry.requirements !== undefined && entry.requirements !== null) rule.requirements = requirementsOf(entry.requirements, label)
  return checked(rule, label)
}

function policyOf (value: unknown, at: string): TopicPolicy {
  if (typeof value === 'string' && (POLICIES as readonly string[]).includes(value)) return value as TopicPolicy
  const problem = value === undefined ? 'has no policy' : `has an unknown policy ${JSON.stringify(value)}`
  throw new ConfigError(at, `${problem}; expected one of ${POLICIES.join(', ')}`, 'policy: public')
}

function requirementsOf (value: unknown, at: string): Record<string, PlaceholderRequirement> {
  const example = "requirements: { user_id: { pattern: '\\d+', wildcard: true } }"
  if (!isObj(value)) throw new ConfigError(at, 'has requirements that are not a mapping', example)
  const result: Record<string, PlaceholderRequirement> = {}
  for (const [key, req] of Object.entries(value)) {
    // Newer Gos/Symfony style: the pattern alone.
    if (typeof req === 'string') {
      result[key] = { pattern: req }
      continue
    }
    if (!isObj(req)) throw new ConfigError(at, `has requirements.${key} that is neither a pattern nor a mapping`, example)
    unknownKeys(req, new Set(['pattern', 'wildcard']), `${at}, requirements.${key}`, example)
    const out: PlaceholderRequirement = {}
    if (req.pattern !== undefined) out.pattern = stringOf(req.pattern, `requirements.${key}.pattern`, at)
    if (req.wildcard !== undefined) {
      if (typeof req.wildcard !== 'boolean') throw new ConfigError(at, `has requirements.${key}.wildcard ${JSON.stringify(req.wildcard)}, expected true or false`, example)
      out.wildcard = req.wildcard
    }
    result[key] = out
  }
  return result
}

function checked (rule: TopicRule, at: string): TopicRule {
  try {
    compileRule(rule)
  } catch (err) {
    if (err instanceof RuleProblem) throw new ConfigError(at, err.problem, err.example)
    throw err
  }
  return rule
}

function unknownKeys (entry: Obj, known: Set<string>, at: string, example: string): void {
  for (const key of Object.keys(entry)) {
    if (!known.has(key)) throw new ConfigError(at, `has an unknown key "${key}"; known keys are ${[...known].join(', ')}`, example)
  }
}

function stringOf (value: unknown, key: string, at: string): string {
  if (typeof value !== 'string') throw new ConfigError(at, `has ${key} ${JSON.stringify(value)}, expected a string`)
  return value
}

function isObj (value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
