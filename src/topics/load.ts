// The rules the gateway runs with: Oro's defaults, then every websocket_routing.yml under
// --app-root, then ORO_WEBSOCKET_TOPICS. A later rule with the same topic replaces an earlier one.
import { relative, resolve } from 'node:path'
import { findRoutingFiles } from './app-root.js'
import { defaultRules } from './defaults.js'
import type { LoadedRule, TopicRule } from './rule.js'
import { mergeRules } from './router.js'
import { readTopicFile } from './topics-file.js'

export interface TopicLoadOptions {
  /** ORO_WEBSOCKET_TOPICS, relative to cwd. */
  topicsFile?: string
  /** --app-root, relative to cwd. */
  appRoot?: string
  cwd: string
}

export interface LoadedTopics {
  rules: TopicRule[]
  /** One line per rule in effect, for the start-up log. */
  loaded: LoadedRule[]
}

export function loadTopicRules (options: TopicLoadOptions): LoadedTopics {
  const sources: Array<{ rule: TopicRule, source: string }> = defaultRules().map((rule) => ({ rule, source: 'defaults' }))

  if (options.appRoot !== undefined && options.appRoot !== '') {
    const root = resolve(options.cwd, options.appRoot)
    for (const file of findRoutingFiles(root)) {
      const source = relative(root, file)
      for (const rule of readTopicFile(file, `--app-root ${options.appRoot}: ${source}`)) sources.push({ rule, source })
    }
  }
  if (options.topicsFile !== undefined && options.topicsFile !== '') {
    const file = resolve(options.cwd, options.topicsFile)
    for (const rule of readTopicFile(file, `ORO_WEBSOCKET_TOPICS ${options.topicsFile}`)) sources.push({ rule, source: options.topicsFile })
  }

  const byTopic = new Map<string, LoadedRule>()
  for (const { rule, source } of sources) {
    const previous = byTopic.get(rule.topic)
    const line: LoadedRule = { topic: rule.topic, policy: rule.policy, source }
    if (previous !== undefined) line.replaces = previous.source
    // Map.set keeps the first position, as mergeRules does: the report reads in matching order.
    byTopic.set(rule.topic, line)
  }
  return { rules: mergeRules(sources.map((s) => s.rule)), loaded: [...byTopic.values()] }
}
