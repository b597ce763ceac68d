// The rules the gateway runs with: Oro's defaults, then every bundle's websocket_routing.yml under
// --app-root (their policies from the bundles' topic services), then the application's own
// config/oro/websocket_routing/*.yml, then ORO_WEBSOCKET_TOPICS. A later rule with the same topic
// replaces an earlier one. Read at start, and again on SIGHUP or when Oro's configuration changes.
import { readdirSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { scanAppRoot } from './app-root.js'
import { defaultRules } from './defaults.js'
import type { LoadedRule, TopicRule } from './rule.js'
import { mergeRules } from './router.js'
import { readTopicFile } from './topics-file.js'
import { createCallbackResolver, readTopicServices } from './topic-services.js'

export interface TopicLoadOptions {
  /** ORO_WEBSOCKET_TOPICS, relative to cwd. */
  topicsFile?: string
  /** --app-root, relative to cwd. */
  appRoot?: string
  cwd: string
}

/** Something the operator should know about the rules, logged once at warning. */
export interface TopicWarning {
  /** Stable across reloads: the same problem is logged once. */
  key: string
  message: string
  fields: Record<string, unknown>
}

export interface LoadedTopics {
  rules: TopicRule[]
  /** One line per rule in effect, for the start-up log and `config`. */
  loaded: LoadedRule[]
  warnings: TopicWarning[]
}

/** The application's own routing folder, read after the bundles' files (as Oro does). */
export const APP_ROUTING_DIR = join('config', 'oro', 'websocket_routing')

export function loadTopicRules (options: TopicLoadOptions): LoadedTopics {
  const sources: Array<{ rule: TopicRule, source: string }> = defaultRules().map((rule) => ({ rule: { ...rule, policyFrom: `Oro's callback ${rule.callback ?? rule.topic} (built in)` }, source: 'defaults' }))
  const warnings: TopicWarning[] = []
  const resolveFile = (file: string): string => resolve(options.cwd, file)

  let resolveCallback = createCallbackResolver()
  if (options.appRoot !== undefined && options.appRoot !== '') {
    const root = resolve(options.cwd, options.appRoot)
    const files = scanAppRoot(root)
    const services = readTopicServices(files.services)
    for (const service of services.byCallback.values()) service.file = relative(root, service.file)
    for (const { file, problem } of services.problems) {
      const shown = relative(root, file)
      warnings.push({ key: `services:${shown}:${problem}`, fields: { file: shown }, message: `topic services: ${shown} ${problem}; routes whose handler it defines are closed to browsers` })
    }
    resolveCallback = createCallbackResolver(services)
    for (const file of [...files.routing, ...appRoutingFiles(root)]) {
      const source = relative(root, file)
      for (const rule of readTopicFile(file, `--app-root ${options.appRoot}: ${source}`, resolveCallback)) sources.push({ rule, source })
    }
  }
  if (options.topicsFile !== undefined && options.topicsFile !== '') {
    const file = resolveFile(options.topicsFile)
    for (const rule of readTopicFile(file, `ORO_WEBSOCKET_TOPICS ${options.topicsFile}`, resolveCallback)) sources.push({ rule, source: options.topicsFile })
  }

  const byTopic = new Map<string, LoadedRule>()
  const inEffect = new Map<string, { rule: TopicRule, source: string }>()
  for (const { rule, source } of sources) {
    const previous = byTopic.get(rule.topic)
    const line: LoadedRule = { topic: rule.topic, policy: rule.policy, source }
    if (rule.name !== undefined) line.route = rule.name
    if (rule.callback !== undefined) line.callback = rule.callback
    if (rule.handlerClass !== undefined) line.handlerClass = rule.handlerClass
    if (rule.policyFrom !== undefined) line.policyFrom = rule.policyFrom
    if (previous !== undefined) line.replaces = previous.source
    // Map.set keeps the first position, as mergeRules does: the report reads in matching order.
    byTopic.set(rule.topic, line)
    inEffect.set(rule.topic, { rule, source })
  }
  for (const { rule, source } of inEffect.values()) {
    if (rule.policy === 'unknown') warnings.push(unknownPolicyWarning(rule, source))
  }
  return { rules: mergeRules(sources.map((s) => s.rule)), loaded: [...byTopic.values()], warnings }
}

/** config/oro/websocket_routing/*.yml of the application, in name order; none when the folder is absent. */
function appRoutingFiles (root: string): string[] {
  const dir = join(root, APP_ROUTING_DIR)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names.filter((name) => /\.ya?ml$/.test(name)).sort().map((name) => join(dir, name))
}

// What to write so the route is delivered: the gateway's own topics file repeats the route with
// its policy (Oro's format, so the requirements stay as they are).
function unknownPolicyWarning (rule: TopicRule, source: string): TopicWarning {
  const route = rule.name ?? rule.topic
  // `user` needs a {user_id} placeholder; any other route can only be public (or ping).
  const example = rule.topic.includes('{user_id}') ? 'user' : 'public'
  const declare = `${route}: { channel: '${rule.topic}', handler: { callback: '${rule.callback ?? route}' }${rule.requirements !== undefined ? `, requirements: ${JSON.stringify(rule.requirements)}` : ''}, policy: ${example} }`
  return {
    key: `unknown:${route}:${rule.topic}:${rule.callback ?? ''}:${rule.handlerClass ?? ''}`,
    fields: { route, topic: rule.topic, callback: rule.callback, class: rule.handlerClass, source, policyFrom: rule.policyFrom },
    message: `topic route ${route} (${rule.topic}, callback ${rule.callback ?? '(none)'}, class ${rule.handlerClass ?? '(not found)'}: ${rule.policyFrom ?? 'unknown'}) has a policy the gateway cannot know: browsers may not subscribe to it (backends may still publish). ` +
      `Declare it with the policy: key (public, user, user-or-wildcard or ping) in the ORO_WEBSOCKET_TOPICS file, e.g. ${declare}`
  }
}
