// Oro's topic services, read from the bundles' Resources/config/services*.yml: a service tagged
// `gos_web_socket.topic` whose first argument is a routing callback (`oro_email.event`) handles
// that route, and its class decides who may subscribe (SecuredTopic: only {user_id}, ...). This
// reads the Symfony service definitions as data; nothing of the application is run. A file that
// cannot be read or parsed is reported and skipped: routes it would have explained stay unknown
// (and so closed to browsers), which is never less safe.
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { CALLBACK_POLICIES, classPolicy } from './defaults.js'
import type { RulePolicy } from './rule.js'

export const TOPIC_TAG = 'gos_web_socket.topic'

export interface TopicService {
  /** The service id, e.g. `oro_email.topic.event`. */
  id: string
  /** The PHP class, with parameters (`%x.class%`) and parents resolved; undefined when none is said. */
  className?: string
  /** The file (as given) that defines the service. */
  file: string
}

export interface TopicServices {
  /** Callback → the topic service that handles it; a later file wins, as in Symfony. */
  byCallback: Map<string, TopicService>
  /** Files that could not be read or parsed, with why. */
  problems: Array<{ file: string, problem: string }>
}

type Obj = Record<string, unknown>

interface RawService {
  id: string
  def: Obj
  file: string
}

/** `files` in load order (vendor first, the application last). */
export function readTopicServices (files: readonly string[]): TopicServices {
  const problems: TopicServices['problems'] = []
  const parameters = new Map<string, unknown>()
  const services = new Map<string, RawService>()
  for (const file of files) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      problems.push({ file, problem: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` })
      continue
    }
    // Most service files have no topic: parse only those that could.
    if (!text.includes('Topic') && !text.includes(TOPIC_TAG)) continue
    let doc: unknown
    try {
      // Symfony's own tags (!php/const, !tagged_iterator, !service) read as plain values.
      doc = parseYaml(text, { logLevel: 'silent' })
    } catch (err) {
      problems.push({ file, problem: `is not valid YAML (${(err as Error).message.split('\n')[0] ?? ''})` })
      continue
    }
    if (!isObj(doc)) continue
    if (isObj(doc.parameters)) for (const [key, value] of Object.entries(doc.parameters)) parameters.set(key, value)
    if (!isObj(doc.services)) continue
    for (const [id, def] of Object.entries(doc.services)) {
      if (id === '_defaults' || id === '_instanceof' || !isObj(def)) continue
      services.set(id, { id, def, file })
    }
  }

  const byCallback = new Map<string, TopicService>()
  for (const service of services.values()) {
    const className = classOf(service, services, parameters)
    // Tagged, or one of Oro's handler classes (autoconfigure tags those without saying so).
    if (!hasTopicTag(service.def) && (className === undefined || classPolicy(className) === undefined)) continue
    const callback = resolveParameter(firstArgument(service, services), parameters)
    if (typeof callback !== 'string' || callback === '' || callback.startsWith('@')) continue
    byCallback.set(callback, { id: service.id, file: service.file, ...(className !== undefined ? { className } : {}) })
  }
  return { byCallback, problems }
}

function hasTopicTag (def: Obj): boolean {
  const tags = def.tags
  if (!Array.isArray(tags)) return false
  return tags.some((tag) => tag === TOPIC_TAG || (isObj(tag) && tag.name === TOPIC_TAG) ||
    // Symfony 5.3+ also writes a tag as `- gos_web_socket.topic: { ... }`.
    (isObj(tag) && Object.keys(tag).length === 1 && Object.keys(tag)[0] === TOPIC_TAG))
}

/** The class: its own, else its parent's; a service id that is a class name is its class. */
function classOf (service: RawService, services: Map<string, RawService>, parameters: Map<string, unknown>): string | undefined {
  const seen = new Set<string>()
  let current: RawService | undefined = service
  while (current !== undefined && !seen.has(current.id)) {
    seen.add(current.id)
    const value = resolveParameter(current.def.class, parameters)
    if (typeof value === 'string' && value !== '') return value.replace(/^\\/, '')
    if (current.def.class === undefined && current.def.parent === undefined && current.id.includes('\\')) return current.id
    current = typeof current.def.parent === 'string' ? services.get(current.def.parent.replace(/^@/, '')) : undefined
  }
  return undefined
}

/** The constructor's first argument (`$topicName` when named), from the service or its parent. */
function firstArgument (service: RawService, services: Map<string, RawService>): unknown {
  const seen = new Set<string>()
  let current: RawService | undefined = service
  while (current !== undefined && !seen.has(current.id)) {
    seen.add(current.id)
    const args = current.def.arguments
    if (Array.isArray(args) && args.length > 0) return args[0]
    if (isObj(args)) {
      if ('$topicName' in args) return args.$topicName
      if ('0' in args) return args['0']
      if ('index_0' in args) return args.index_0
    }
    current = typeof current.def.parent === 'string' ? services.get(current.def.parent.replace(/^@/, '')) : undefined
  }
  return undefined
}

/** `%name%` → the parameter's value (one level, as class parameters are written). */
function resolveParameter (value: unknown, parameters: Map<string, unknown>): unknown {
  if (typeof value !== 'string') return value
  const m = /^%([^%]+)%$/.exec(value)
  if (m === null) return value
  return parameters.get(m[1] as string)
}

function isObj (value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Who may subscribe to a route with this callback, and why (for `config` and the log). */
export interface CallbackPolicy {
  policy: RulePolicy
  handlerClass?: string
  policyFrom: string
}

export type CallbackResolver = (callback: string | undefined) => CallbackPolicy

/**
 * The policy of a route that declares none: its topic service's class when one was found (a
 * class the gateway does not know is `unknown`), else Oro's own callback's, else `unknown`.
 */
export function createCallbackResolver (services?: TopicServices): CallbackResolver {
  return (callback) => {
    if (callback === undefined) return { policy: 'unknown', policyFrom: 'no handler.callback' }
    const service = services?.byCallback.get(callback)
    if (service !== undefined) {
      const where = `service ${service.id} in ${service.file}`
      if (service.className === undefined) return { policy: 'unknown', policyFrom: `${where}, whose class is not said` }
      const policy = classPolicy(service.className)
      if (policy !== undefined) return { policy, handlerClass: service.className, policyFrom: `class ${service.className} (${where})` }
      // One of Oro's own callbacks handled by another of Oro's classes (a version the table
      // above does not list): Oro's callback says what it does. Another vendor's class is unknown.
      const oro = CALLBACK_POLICIES[callback]
      if (oro !== undefined && /^Oro\\/i.test(service.className)) {
        return { policy: oro, handlerClass: service.className, policyFrom: `Oro's callback ${callback} (class ${service.className}, ${where})` }
      }
      return { policy: 'unknown', handlerClass: service.className, policyFrom: `class ${service.className} (${where}), which the gateway does not know` }
    }
    const oro = CALLBACK_POLICIES[callback]
    if (oro !== undefined) return { policy: oro, policyFrom: `Oro's callback ${callback}` }
    return { policy: 'unknown', policyFrom: services === undefined ? 'no topic service read (no --app-root)' : `no service tagged ${TOPIC_TAG} has this callback` }
  }
}
