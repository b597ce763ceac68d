// One JSON shape for every HTTP error, {code, message} with a GW_ERR_* code. Fastify's own
// errors (content type, body size, JSON syntax, schema validation) get ours, with a message that
// says what to change; 5xx details stay in the log.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  GW_ERR_BODY_INVALID, GW_ERR_BODY_TOO_LARGE, GW_ERR_INTERNAL, GW_ERR_NOT_FOUND, GW_ERR_UNSUPPORTED_MEDIA_TYPE
} from '../src/errors.js'
import { LogThrottle, clip } from '../src/log-throttle.js'

interface ValidationIssue { instancePath: string, message?: string, params?: Record<string, unknown> }

/** "publication 2: topic must be string" from ajv's `/2/topic must be string`. */
export function describeValidation (issues: readonly ValidationIssue[], maxBatch: number): string {
  const issue = issues[0]
  if (issue === undefined) return 'the body does not match the schema'
  const parts = issue.instancePath.split('/').filter((p) => p !== '')
  let message = issue.message ?? 'is invalid'
  if (typeof issue.params?.additionalProperty === 'string') message = `has an unknown field "${issue.params.additionalProperty}"`
  if (parts.length === 0) {
    if (/more than/.test(message)) return `a batch holds at most ${maxBatch} publications (ORO_WEBSOCKET_PUBLISH_MAX_BATCH)`
    return `the body ${message}`
  }
  const [index, ...field] = parts
  return `publication ${index ?? '?'}: ${field.length > 0 ? `"${field.join('.')}" ` : ''}${message}`
}

function translate (error: FastifyError, request: FastifyRequest): { code: string, message: string, statusCode: number } {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GW_ERR_UNSUPPORTED_MEDIA_TYPE(JSON.stringify(request.headers['content-type'] ?? '(none)'))
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GW_ERR_BODY_TOO_LARGE(request.routeOptions.bodyLimit ?? '?')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GW_ERR_BODY_INVALID('the body is empty; send a publication as JSON')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GW_ERR_BODY_INVALID('Content-Length does not match the body')
    case 'FST_ERR_VALIDATION':
      return new GW_ERR_BODY_INVALID(describeValidation((error as FastifyError & { validation?: ValidationIssue[] }).validation ?? [],
        request.routeOptions.config.maxBatch ?? 0))
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new GW_ERR_BODY_INVALID(`malformed JSON (${error.message})`)
  }
  return { code: error.code, message: error.message, statusCode: error.statusCode ?? 500 }
}

/** Bodies above this still on their way when a request is refused are not read: the connection closes. */
export const UNREAD_BODY_CLOSE_BYTES = 64 * 1024

/**
 * The request was answered before its body arrived in full (refused at its head: the publish key,
 * the rate, the size) and the body is large or of unknown length (chunked): the answer closes the
 * connection, so the rest is not read. Node would otherwise read it all to discard it, before the
 * connection could serve another request: an unauthenticated client could make the gateway read
 * any amount. Small bodies are read as usual, keeping the connection of a refused publisher.
 */
function bodyLeftUnread (request: FastifyRequest): boolean {
  const raw = request.raw
  if (raw.complete) return false
  const headers = raw.headers
  if (headers['transfer-encoding'] !== undefined) return true
  const length = Number(headers['content-length'])
  return length > UNREAD_BODY_CLOSE_BYTES
}

async function errorsPlugin (fastify: FastifyInstance): Promise<void> {
  // One line per code per 10 s (with how many were left out): a Redis outage answers every
  // publication 503, and a client's bad requests must not be a way to fill the log.
  const throttle = new LogThrottle({ intervalMs: 10_000 })
  fastify.setErrorHandler(function (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const translated = translate(error, request)
    const status = translated.statusCode >= 400 ? translated.statusCode : 500
    if (status >= 500 && !translated.code?.startsWith('GW_ERR_')) {
      request.log.error({ err: error }, 'request failed')
      const internal = new GW_ERR_INTERNAL()
      return reply.code(500).send({ code: internal.code, message: internal.message })
    }
    if (bodyLeftUnread(request)) reply.header('Connection', 'close')
    // A 503 always says when to come back.
    if (status === 503 && !reply.hasHeader('Retry-After')) reply.header('Retry-After', '1')
    // Refused upgrades are logged where they are refused, with the words operators grep for.
    if (!request.ws) {
      const suppressed = throttle.take(translated.code ?? String(status))
      if (suppressed >= 0) {
        request.log[status >= 500 ? 'warn' : 'info']({ code: translated.code, status, url: clip(request.url.split('?')[0], 200), suppressed }, clip(translated.message, 500))
      }
    }
    return reply.code(status).send({ code: translated.code ?? 'GW_ERR_BODY_INVALID', message: translated.message })
  })

  fastify.setNotFoundHandler(function (request, reply) {
    const error = new GW_ERR_NOT_FOUND(request.method, request.url.split('?')[0])
    return reply.code(404).send({ code: error.code, message: error.message })
  })
}

export default fp(errorsPlugin, { name: 'errors', fastify: '5.x' })
