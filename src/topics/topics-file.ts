// Reads one topics file: JSON or YAML by extension, else JSON first and YAML after.
import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../config/errors.js'
import { parseTopicDocument } from './parse-rules.js'
import type { TopicRule } from './rule.js'
import type { CallbackResolver } from './topic-services.js'

/** `path` is read; `where` names it in errors (e.g. `ORO_WEBSOCKET_TOPICS topics.yml`). */
export function readTopicFile (path: string, where: string, resolve?: CallbackResolver): TopicRule[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(where, `cannot be read (${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'ORO_WEBSOCKET_TOPICS=config/topics.yml')
  }
  return parseTopicDocument(parseText(text, extname(path).toLowerCase(), where), where, resolve)
}

function parseText (text: string, ext: string, where: string): unknown {
  if (ext === '.json') return parseJson(text, where)
  if (ext === '.yml' || ext === '.yaml') return parseYamlText(text, where)
  try {
    return JSON.parse(text) as unknown
  } catch {
    return parseYamlText(text, where)
  }
}

function parseJson (text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new ConfigError(where, `is not valid JSON (${(err as Error).message})`, '[{ "topic": "oro/my_topic", "policy": "public" }]')
  }
}

function parseYamlText (text: string, where: string): unknown {
  try {
    return parseYaml(text) as unknown
  } catch (err) {
    throw new ConfigError(where, `is not valid YAML (${(err as Error).message.split('\n')[0] ?? ''})`, '- { topic: oro/my_topic, policy: public }')
  }
}
