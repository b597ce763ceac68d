// Turns a rule's topic template into what the router needs: the exact topic when it has no
// placeholder, otherwise one anchored regex with a named group per placeholder. Also the place
// where a rule's template and requirements are checked, so a rule that compiles is a valid rule.
import type { TopicRule } from './rule.js'

export interface CompiledRule {
  rule: TopicRule
  /** The topic itself when it has no placeholder (an exact Map key). */
  exact: string | null
  regex: RegExp | null
  /** Whole literal segments before the first placeholder, e.g. `oro/email_event/` (router bucket). */
  prefix: string
}

/** What is wrong with one rule; the loader adds the file and entry. */
export class RuleProblem extends Error {
  constructor (readonly problem: string, readonly example?: string) {
    super(problem)
    this.name = 'RuleProblem'
  }
}

const PLACEHOLDER = /\{([^{}]*)\}/g
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const ANY_SEGMENT = '[^/]+'
// Longest placeholder value: Oro's ids are integers (at most 20 digits); other values 64
// characters. Each distinct value makes a topic (a Redis channel): a user may not mint huge ones.
export const MAX_ID_PLACEHOLDER_LENGTH = 20
export const MAX_PLACEHOLDER_LENGTH = 64
const DIGITS_ONLY = new Set(['\\d+', '[0-9]+', '\\d*', '[0-9]*'])

export function placeholdersOf (topic: string): string[] {
  return [...topic.matchAll(PLACEHOLDER)].map((m) => m[1] as string)
}

export function compileRule (rule: TopicRule): CompiledRule {
  const { topic } = rule
  if (typeof topic !== 'string' || topic === '') throw new RuleProblem('has no topic', 'topic: oro/my_topic/{user_id}')
  if (/\s/.test(topic)) throw new RuleProblem(`topic "${topic}" contains white space`, 'topic: oro/my_topic/{user_id}')

  const names = placeholdersOf(topic)
  // Braces left over once the placeholders are taken out are unbalanced.
  if (/[{}]/.test(topic.replace(PLACEHOLDER, ''))) {
    throw new RuleProblem(`topic "${topic}" has an unbalanced "{" or "}"`, 'topic: oro/email_event/{user_id}/{organization_id}')
  }
  const seen = new Set<string>()
  for (const name of names) {
    if (!NAME.test(name)) throw new RuleProblem(`topic "${topic}" has a placeholder "{${name}}" that is not a name (letters, digits, _)`, 'topic: oro/email_event/{user_id}')
    if (seen.has(name)) throw new RuleProblem(`topic "${topic}" uses the placeholder "{${name}}" twice`)
    seen.add(name)
  }

  const requirements = rule.requirements ?? {}
  for (const key of Object.keys(requirements)) {
    if (!seen.has(key)) {
      throw new RuleProblem(`has requirements for "${key}", which is not a placeholder of topic "${topic}"`,
        `topic: oro/my_topic/{${key}} with requirements: { ${key}: { pattern: '\\d+' } }`)
    }
  }
  if ((rule.policy === 'user' || rule.policy === 'user-or-wildcard') && !seen.has('user_id')) {
    throw new RuleProblem(`has policy "${rule.policy}" but topic "${topic}" has no {user_id} placeholder`, 'topic: oro/my_topic/{user_id}')
  }

  if (names.length === 0) return { rule, exact: topic, regex: null, prefix: topic }

  let source = '^'
  let last = 0
  for (const m of topic.matchAll(PLACEHOLDER)) {
    const name = m[1] as string
    source += escapeRegex(topic.slice(last, m.index)) + `(?<${name}>${placeholderSource(rule, name)})`
    last = m.index + m[0].length
  }
  source += escapeRegex(topic.slice(last)) + '$'

  let regex: RegExp
  try {
    regex = new RegExp(source, 's')
  } catch (err) {
    // The escaped template is always valid, so the culprit is one of the patterns.
    throw new RuleProblem(`has a requirement pattern that is not a valid regular expression (${(err as Error).message})`, "pattern: '\\d+'")
  }
  const literal = topic.slice(0, topic.indexOf('{'))
  return { rule, exact: null, regex, prefix: literal.slice(0, literal.lastIndexOf('/') + 1) }
}

function placeholderSource (rule: TopicRule, name: string): string {
  const req = rule.requirements?.[name]
  // Symfony's routing drops anchors from requirements; the whole value is anchored anyway.
  const pattern = req?.pattern?.replace(/^\^/, '').replace(/(?<!\\)\$$/, '')
  if (pattern !== undefined) {
    try {
      // Checked alone first so the error names the placeholder.
      void new RegExp(pattern)
    } catch (err) {
      throw new RuleProblem(`has requirements.${name}.pattern "${pattern}" that is not a valid regular expression (${(err as Error).message})`, "pattern: '\\d+'")
    }
  }
  // user-or-wildcard means "* is open to anyone", so * must reach the route even when the
  // requirements forgot to say wildcard: true.
  const wildcard = req?.wildcard === true || (name === 'user_id' && rule.policy === 'user-or-wildcard')
  const body = pattern === undefined ? ANY_SEGMENT : `(?:${pattern})`
  const max = pattern !== undefined && DIGITS_ONLY.has(pattern) ? MAX_ID_PLACEHOLDER_LENGTH : MAX_PLACEHOLDER_LENGTH
  // Not more than `max` characters before the next '/' (or the end).
  const bounded = `(?![^/]{${max + 1}})(?:${body})`
  return wildcard ? `${bounded}|\\*` : bounded
}

function escapeRegex (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
