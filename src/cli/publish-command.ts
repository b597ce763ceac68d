// `oro-websocket-gateway publish TOPIC [DATA]`: one POST /publish from the command line, for
// operators and scripts. DATA is JSON (or read from stdin); the key and URL default from the
// gateway's own configuration (or the development key file). Prints the receipt.
import { ConfigError } from '../config/errors.js'
import { loadConfig } from '../config/load.js'
import { readDevKey } from '../publish/dev-key.js'
import { effectiveUrls } from './config-command.js'
import { commandLoadOptions, parseCommandLine, usageError } from './options.js'
import { examplePayload } from './payload-examples.js'
import { GW_ERR_GATEWAY_UNREACHABLE } from '../errors.js'

export const PUBLISH_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  exclude: { type: 'string', multiple: true },
  eligible: { type: 'string', multiple: true },
  'idempotency-key': { type: 'string' },
  'app-root': { type: 'string' },
  parameters: { type: 'string' }
} as const

export class CommandError extends Error {
  constructor (readonly code: string, message: string) {
    super(message)
  }
}

export interface PublishIo {
  env: Record<string, string | undefined>
  cwd: string
  readStdin: () => Promise<string>
  stdinIsTTY: boolean
}

export async function publishCommand (args: string[], io: PublishIo): Promise<string> {
  const { values, positionals } = parseCommandLine(args, PUBLISH_OPTIONS, `oro-websocket-gateway publish oro/data/update '${examplePayload('oro/data/update')}'`)
  const [topic, dataText, ...extra] = positionals
  if (topic === undefined || extra.length > 0) {
    const shown = topic ?? 'oro/maintenance'
    throw usageError('publish needs a TOPIC and at most one DATA argument', `oro-websocket-gateway publish ${shown} '${examplePayload(shown)}'`)
  }
  // Every hint shows data that is right for this topic (Oro's shapes, docs/topics.md).
  const example = examplePayload(topic)
  let text = dataText
  if (text === undefined) {
    if (io.stdinIsTTY) throw usageError('DATA is missing: give it as an argument or on stdin', `echo '${example}' | oro-websocket-gateway publish ${topic}`)
    text = await io.readStdin()
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new CommandError('GW_ERR_BODY_INVALID', `DATA is not JSON (${(err as Error).message}); for example '${example}'`)
  }

  const needConfig = values.url === undefined || values.key === undefined
  const loaded = needConfig
    ? loadConfig(commandLoadOptions(values, io.env, io.cwd))
    : undefined
  const url = values.url ?? (loaded !== undefined ? effectiveUrls(loaded).publish : 'http://127.0.0.1:8080/publish')
  const key = values.key ?? loaded?.gateway.publish.keys[0] ?? readDevKey(Number(new URL(url).port || 80))
  if (key === undefined) {
    throw new ConfigError('--key', 'is missing and ORO_WEBSOCKET_PUBLISH_KEYS is not set', '--key <one of the gateway\'s ORO_WEBSOCKET_PUBLISH_KEYS>')
  }

  const publication: Record<string, unknown> = { topic, data }
  if (values.exclude !== undefined) publication.exclude = values.exclude
  if (values.eligible !== undefined) publication.eligible = values.eligible
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${key}` }
  if (values['idempotency-key'] !== undefined) headers['idempotency-key'] = values['idempotency-key']
  let response: Response
  try {
    response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(publication) })
  } catch (err) {
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    const error = new GW_ERR_GATEWAY_UNREACHABLE(url, cause?.code ?? cause?.message ?? (err as Error).message)
    throw new CommandError(error.code, error.message)
  }
  const body = await response.text()
  if (response.status !== 202) {
    let parsedBody: { code?: string, message?: string } = {}
    try { parsedBody = JSON.parse(body) as typeof parsedBody } catch { /* not JSON */ }
    throw new CommandError(parsedBody.code ?? `HTTP_${response.status}`, parsedBody.message ?? body)
  }
  return body + '\n'
}
