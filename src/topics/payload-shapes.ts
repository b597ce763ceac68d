// The payloads Oro's own topics carry (oro-compat §5). The HTTP publish API checks them because
// Oro's browser code would throw on anything else; other topics take any JSON.
//
// PHP's json round trip turns an empty object {} into []. None of these objects is ever empty
// (each has required keys), so [] can only be a wrong payload here and is refused.
import { defaultRules } from './defaults.js'
import type { TopicRule } from './rule.js'
import { createTopicRouter, type TopicRouter } from './router.js'

export interface PayloadProblem {
  /** The shape, as the API's 400 message shows it. */
  expected: string
  problem: string
}

interface Shape {
  expected: string
  check: (data: unknown) => string | null
}

// A trailing ? means the key may be missing.
type Field = 'string' | 'string|null' | 'bool' | 'int|null' | 'int|null?'

const SHAPES: Readonly<Record<string, Shape>> = {
  'oro_sync.data_update': {
    expected: '[{"username": string|null, "tagname": string}, ...]',
    // An empty list is harmless: content-manager.js filters it and changes nothing.
    check: (data) => listOf(data, (item) => fields(item, { username: 'string|null', tagname: 'string' }))
  },
  'oro_sync.maintenance': {
    expected: '{"isOn": bool, "userId": int|null}',
    // Oro before 2.x sent {isOn, msg}; the browser only compares userId, so it may be missing.
    check: (data) => fields(data, { isOn: 'bool', userId: 'int|null?' })
  },
  'oro_user.outdated_user_page': {
    expected: '{"role": string}',
    check: (data) => fields(data, { role: 'string' })
  },
  'oro_message_queue.message_queue_heartbeat': {
    expected: 'a string (Oro sends "")',
    check: (data) => typeof data === 'string' ? null : `${describe(data)} is not a string`
  },
  'oro_email.event': {
    expected: '{"hasNewEmail": bool}',
    check: (data) => fields(data, { hasNewEmail: 'bool' })
  },
  'oro_reminder.remind': {
    expected: '[{"templateId", "expireAt", "subject", "url", "id", "uniqueId"}, ...]',
    check: (data) => listOf(data, (item) => isObject(item) ? null : `${describe(item)} is not an object`)
  },
  'oro_entity_config.attribute_import': {
    expected: '{"finished": bool}',
    check: (data) => fields(data, { finished: 'bool' })
  },
  'oro_imap.sync_fail': {
    expected: '{"username": string, "host": string}',
    check: (data) => fields(data, { username: 'string', host: 'string' })
  }
}

// Oro's topic templates, placeholders blanked, so a rule from a file that kept Oro's topic but
// not its callback (the gateway's list format) still gets the shape.
const BY_TEMPLATE = new Map(defaultRules().map((r) => [blankPlaceholders(r.topic), r.callback as string]))
let defaultRouter: TopicRouter | undefined

/** null when the payload is fine (or the topic is not one of Oro's own). */
export function checkPayload (ruleOrTopic: TopicRule | string, data: unknown): PayloadProblem | null {
  const shape = shapeFor(ruleOrTopic)
  if (shape === undefined) return null
  const problem = shape.check(data)
  return problem === null ? null : { expected: shape.expected, problem }
}

// Each rule's shape (null: none), found once: the lookup blanks the template's placeholders with
// a regex, and POST /publish asks for every publication (~400 instructions of ~120,000 per request).
const RULE_SHAPES = new WeakMap<TopicRule, Shape | null>()

function shapeFor (ruleOrTopic: TopicRule | string): Shape | undefined {
  let rule: TopicRule
  if (typeof ruleOrTopic === 'string') {
    defaultRouter ??= createTopicRouter(defaultRules())
    const m = defaultRouter.match(ruleOrTopic)
    if (m === null) return undefined
    rule = m.rule
  } else {
    rule = ruleOrTopic
  }
  let shape = RULE_SHAPES.get(rule)
  if (shape === undefined) {
    shape = (rule.callback !== undefined ? SHAPES[rule.callback] : undefined) ?? SHAPES[BY_TEMPLATE.get(blankPlaceholders(rule.topic)) ?? ''] ?? null
    RULE_SHAPES.set(rule, shape)
  }
  return shape ?? undefined
}

function blankPlaceholders (topic: string): string {
  return topic.replace(/\{[^{}]*\}/g, '{}')
}

function listOf (data: unknown, item: (value: unknown) => string | null): string | null {
  if (!Array.isArray(data)) return `${describe(data)} is not a list`
  for (let i = 0; i < data.length; i++) {
    const problem = item(data[i])
    if (problem !== null) return `element ${i}: ${problem}`
  }
  return null
}

function fields (data: unknown, spec: Record<string, Field>): string | null {
  if (!isObject(data)) {
    return Array.isArray(data) && data.length === 0 ? '[] (an empty PHP array) is not an object with the required keys' : `${describe(data)} is not an object`
  }
  for (const [key, field] of Object.entries(spec)) {
    const type = field.replace(/\?$/, '')
    if (!(key in data)) {
      if (field.endsWith('?')) continue
      return `"${key}" is missing`
    }
    const value = data[key]
    const ok = type === 'string'
      ? typeof value === 'string'
      : type === 'string|null'
        ? value === null || typeof value === 'string'
        : type === 'bool'
          ? typeof value === 'boolean'
          : value === null || Number.isInteger(value)
    if (!ok) return `"${key}" is ${describe(value)}, not ${type}`
  }
  return null
}

function isObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** A short picture of a client's value for a message: two levels at most, never the whole of it. */
function describe (value: unknown): string {
  const text = sketch(value, 2)
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

// Bounded work whatever the value: a few elements per level, a fixed depth (the client's data may
// be huge or deeply nested, and a recursive JSON.stringify of it can overflow the stack).
function sketch (value: unknown, depth: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value)
  if (depth === 0) return Array.isArray(value) ? '[...]' : '{...}'
  if (Array.isArray(value)) {
    const items = value.slice(0, 4).map((item) => sketch(item, depth - 1))
    return `[${items.join(',')}${value.length > 4 ? ',...' : ''}]`
  }
  const keys = Object.keys(value).slice(0, 4)
  const items = keys.map((key) => `${JSON.stringify(key)}:${sketch((value as Record<string, unknown>)[key], depth - 1)}`)
  return `{${items.join(',')}${Object.keys(value).length > 4 ? ',...' : ''}}`
}
