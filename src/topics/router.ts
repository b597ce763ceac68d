// Finds the rule for a topic on every SUBSCRIBE and publish, so it is built for speed: exact
// topics are one Map lookup; patterned ones are bucketed by their literal prefix
// (`oro/email_event/`) so only a few regexes run, and results for hot topics are cached.
import { compileRule, type CompiledRule } from './compile.js'
import type { TopicRule } from './rule.js'

export interface TopicMatch {
  rule: TopicRule
  /** Placeholder values, e.g. `{ user_id: '7', organization_id: '1' }` (frozen, shared). */
  params: Readonly<Record<string, string>>
}

export interface TopicRouter {
  match (topic: string): TopicMatch | null
  readonly rules: readonly TopicRule[]
}

export interface RouterOptions {
  /** Topics whose result is remembered; the oldest is dropped beyond this. */
  cacheSize?: number
}

const MAX_CACHED_TOPIC = 256
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({})

/** Later rules with the same topic template replace earlier ones, in the earlier one's place. */
export function mergeRules (rules: readonly TopicRule[]): TopicRule[] {
  const byTopic = new Map<string, TopicRule>()
  for (const rule of rules) byTopic.set(rule.topic, rule)
  return [...byTopic.values()]
}

export function createTopicRouter (rules: readonly TopicRule[], options: RouterOptions = {}): TopicRouter {
  const merged = mergeRules(rules)
  const exact = new Map<string, TopicMatch>()
  // Per prefix, the patterned rules with their position: the first rule in the list wins.
  const buckets = new Map<string, Array<{ order: number, compiled: CompiledRule }>>()
  merged.forEach((rule, order) => {
    const compiled = compileRule(rule)
    if (compiled.exact !== null) {
      exact.set(compiled.exact, { rule, params: NO_PARAMS })
      return
    }
    let bucket = buckets.get(compiled.prefix)
    if (bucket === undefined) buckets.set(compiled.prefix, bucket = [])
    bucket.push({ order, compiled })
  })

  const cacheSize = options.cacheSize ?? 10_000
  const cache = new Map<string, TopicMatch | null>()

  function matchPatterned (topic: string): TopicMatch | null {
    let best: TopicMatch | null = null
    let bestOrder = Infinity
    // Candidate prefixes: '' and every prefix of the topic that ends with '/'.
    let slash = -1
    do {
      const bucket = buckets.get(topic.slice(0, slash + 1))
      if (bucket !== undefined) {
        for (const { order, compiled } of bucket) {
          if (order >= bestOrder) break
          const m = (compiled.regex as RegExp).exec(topic)
          if (m !== null) {
            best = { rule: compiled.rule, params: Object.freeze({ ...m.groups }) }
            bestOrder = order
            break
          }
        }
      }
      slash = topic.indexOf('/', slash + 1)
    } while (slash !== -1)
    return best
  }

  return {
    rules: merged,
    match (topic) {
      const hit = exact.get(topic)
      if (hit !== undefined) return hit
      if (buckets.size === 0) return null
      const cached = cache.get(topic)
      if (cached !== undefined) return cached
      const result = matchPatterned(topic)
      // FIFO eviction: cheaper than LRU bookkeeping on every hit, and hot topics come back at once.
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string)
      // Long topic names (junk from a client) would make the cache a memory sink.
      if (cacheSize > 0 && topic.length <= MAX_CACHED_TOPIC) cache.set(topic, result)
      return result
    }
  }
}
