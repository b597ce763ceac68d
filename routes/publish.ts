// POST /publish: how backends publish over HTTP. Authenticated with a bearer key, validated
// (schema, routing rules, Oro's payload shapes) before anything is delivered, idempotent with an
// Idempotency-Key, delivered in array order. 202 means the broker took every publication.
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import type { Broker } from '../src/broker/broker.js'
import { BrokerUnavailableError } from '../src/broker/broker.js'
import { bearerToken, type PublishKeys } from '../src/publish/keys.js'
import { createRateLimiter } from '../src/publish/rate-limit.js'
import type { IdempotencyStore, StoredAnswer } from '../src/publish/idempotency.js'
import type { PublishTopicPolicy } from '../src/publish/policy.js'
import type { PublishSettings } from '../src/config/gateway-config.js'
import {
  GW_ERR_BODY_INVALID, GW_ERR_BROKER_UNAVAILABLE, GW_ERR_PAYLOAD_SHAPE, GW_ERR_RATE_LIMITED,
  GW_ERR_TOPIC_FORBIDDEN, GW_ERR_TOPIC_NOT_ROUTED, GW_ERR_UNAUTHORIZED
} from '../src/errors.js'
import { counters } from '../src/metrics.js'

export interface PublishRouteOptions {
  broker: Broker
  keys: PublishKeys
  settings: PublishSettings
  policy: PublishTopicPolicy
  idempotency: IdempotencyStore
}

interface PublicationBody {
  topic: string
  data: unknown
  exclude?: string[]
  eligible?: string[]
}

const sessionIds = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 128 }, maxItems: 100000 } as const

export const publicationSchema = {
  type: 'object',
  required: ['topic', 'data'],
  additionalProperties: false,
  properties: {
    topic: { type: 'string', minLength: 1, maxLength: 65536, description: 'Topic URI, e.g. oro/data/update' },
    data: { description: 'Any JSON; subscribers receive it as [8, topic, data]' },
    exclude: { ...sessionIds, description: 'Session ids that must not receive it' },
    eligible: { ...sessionIds, description: 'When not empty, only these session ids receive it' }
  }
} as const

const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } }
} as const

declare module 'fastify' {
  interface FastifyRequest {
    publishKeyId: number
  }
  interface FastifyContextConfig {
    /** The batch limit, for the validation error message. */
    maxBatch?: number
  }
}

export default async function publishRoutes (fastify: FastifyInstance, options: PublishRouteOptions): Promise<void> {
  const { broker, keys, settings, idempotency } = options
  const rateLimiter = createRateLimiter(settings.ratePerSecond)
  // JSON only (Fastify would otherwise parse text/plain bodies too), and one publication or an
  // array of them: the schema sees an array either way. Doing it in the parser saves a hook.
  fastify.removeContentTypeParser(['text/plain', 'application/json'])
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    let body: unknown
    try {
      body = JSON.parse(text as string)
    } catch (err) {
      done(text === '' ? new GW_ERR_BODY_INVALID('the body is empty; send a publication as JSON') : new GW_ERR_BODY_INVALID(`malformed JSON (${(err as Error).message})`), undefined)
      return
    }
    if (Array.isArray(body)) done(null, body)
    else if (body !== null && typeof body === 'object') done(null, [body])
    else done(new GW_ERR_BODY_INVALID('send a publication object or an array of them'), undefined)
  })
  fastify.decorateRequest('publishKeyId', -1)

  const schema = {
    summary: 'Publish events to WebSocket subscribers',
    description: `One publication object, or an array of at most ${settings.maxBatch} delivered in array order. ` +
      'Answers 202 once the broker took every publication; any other answer means none was delivered.',
    tags: ['publish'],
    security: [{ bearer: [] }],
    headers: {
      type: 'object',
      properties: { 'idempotency-key': { type: 'string', maxLength: 256, description: 'Repeats within 5 minutes get the first answer and are not delivered again' } }
    },
    body: {
      description: 'A publication, or an array of publications (a single object is taken as an array of one)',
      type: 'array',
      minItems: 1,
      maxItems: settings.maxBatch,
      items: publicationSchema
    },
    response: {
      202: {
        type: 'object',
        required: ['published'],
        properties: {
          published: { type: 'integer', description: 'Publications handed to the broker' },
          recipients: { type: 'integer', description: 'Sessions on this node each event was written to, summed' }
        }
      },
      '4xx': errorSchema,
      '5xx': errorSchema
    }
  }

  fastify.post('/publish', {
    bodyLimit: settings.maxBytes,
    schema: schema as FastifySchema,
    config: { maxBatch: settings.maxBatch },
    // Authenticate before the body is read or parsed. Callback-style hooks: no promise per request.
    onRequest: (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      const token = bearerToken(request.headers.authorization)
      const keyId = token === undefined ? -1 : keys.match(token)
      if (keyId === -1) {
        reply.header('WWW-Authenticate', 'Bearer realm="oro-websocket-gateway"')
        done(new GW_ERR_UNAUTHORIZED())
        return
      }
      const wait = rateLimiter.take(keyId)
      if (wait > 0) {
        reply.header('Retry-After', String(wait))
        done(new GW_ERR_RATE_LIMITED(settings.ratePerSecond, wait))
        return
      }
      request.publishKeyId = keyId
      done()
    }
  }, async function (request: FastifyRequest, reply: FastifyReply) {
    const publications = request.body as PublicationBody[]
    const key = request.headers['idempotency-key']
    const handle = (): Promise<StoredAnswer> => deliver(publications)
    const { answer, replay } = typeof key === 'string' && key !== ''
      ? await idempotency.run(String(request.publishKeyId), key, handle)
      : { answer: await handle(), replay: false }
    if (replay) reply.header('Idempotent-Replayed', 'true')
    return reply.code(answer.status).send(answer.body)
  })

  async function deliver (publications: PublicationBody[]): Promise<StoredAnswer> {
    // Everything is checked before anything is delivered: a batch is all or nothing.
    const policy = options.policy
    const payloads: string[] = []
    for (let i = 0; i < publications.length; i++) {
      const { topic, data } = publications[i] as PublicationBody
      const where = publications.length > 1 ? `publication ${i}: ` : ''
      const refusal = policy.route(topic)
      if (refusal !== null) {
        const error = refusal.status === 404 ? new GW_ERR_TOPIC_NOT_ROUTED(topic) : new GW_ERR_TOPIC_FORBIDDEN(topic, refusal.message)
        error.message = where + error.message
        throw error
      }
      const problem = policy.shape(topic, data)
      if (problem !== null) {
        const error = new GW_ERR_PAYLOAD_SHAPE(topic, problem.problem, problem.expected)
        error.message = where + error.message
        throw error
      }
      payloads.push(JSON.stringify(data))
    }
    const readiness = broker.readiness()
    if (readiness !== 'ok') throw new GW_ERR_BROKER_UNAVAILABLE(readiness)
    let receipt
    try {
      receipt = await broker.publishBatch(publications.map(({ topic, exclude, eligible }, i) =>
        ({ topic, payload: payloads[i] as string, exclude: exclude ?? null, eligible: eligible ?? null })))
    } catch (err) {
      if (err instanceof BrokerUnavailableError) throw new GW_ERR_BROKER_UNAVAILABLE(err.message)
      throw err
    }
    counters.publishesReceived += publications.length
    return { status: 202, body: receipt.recipients !== undefined ? { published: publications.length, recipients: receipt.recipients } : { published: publications.length } }
  }
}
