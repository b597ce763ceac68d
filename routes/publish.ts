// POST /publish: how backends publish over HTTP. Authenticated with a bearer key, validated
// (schema, routing rules, Oro's payload shapes) before anything is delivered, idempotent with an
// Idempotency-Key, delivered in array order. 202 means the broker took every publication; 503
// that nothing was delivered; 504 that the broker did not confirm (a retry needs the same key).
// Without any key configured (prod without ORO_WEBSOCKET_PUBLISH_KEYS) the route says it is off.
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import type { Broker, Publication, PublishReceipt } from '../src/broker/broker.js'
import { bearerToken, type PublishKeys } from '../src/publish/keys.js'
import { createRateLimiter } from '../src/publish/rate-limit.js'
import { bodyFingerprint, type IdempotencyStore, type StoredAnswer } from '../src/publish/idempotency.js'
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/publish/json-depth.js'
import { publicationDataTexts } from '../src/publish/data-text.js'
import type { PublishTopicPolicy } from '../src/publish/policy.js'
import type { PublishSettings } from '../src/config/gateway-config.js'
import type { Readiness } from '../src/readiness.js'
import {
  GW_ERR_BODY_INVALID, GW_ERR_BROKER_UNAVAILABLE, GW_ERR_PAYLOAD_SHAPE, GW_ERR_PUBLISH_DISABLED, GW_ERR_RATE_LIMITED, GW_ERR_SHUTTING_DOWN,
  GW_ERR_TOPIC_FORBIDDEN, GW_ERR_TOPIC_NOT_ROUTED, GW_ERR_UNAUTHORIZED
} from '../src/errors.js'
import type { GatewayStats } from '../src/stats.js'

export interface PublishRouteOptions {
  broker: Broker
  keys: PublishKeys
  settings: PublishSettings
  policy: PublishTopicPolicy
  idempotency: IdempotencyStore
  /** Once the gateway is closing, new publications are refused (503) and their clients back off. */
  readiness: Readiness
  /** The app's figures: publications received, answers by outcome (also from the publish listener). */
  stats: GatewayStats
}

/** What a POST /publish answer's status means, as the `outcome` label. */
export function publishOutcome (status: number): string {
  if (status < 300) return 'ok'
  if (status === 401) return 'unauthorized'
  if (status === 429) return 'rate_limited'
  if (status === 503) return 'unavailable'
  if (status === 504) return 'unknown'
  if (status < 500) return 'refused'
  return 'error'
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
    /** The body's fingerprint, made only when the request has an Idempotency-Key. */
    publishFingerprint: string
    /** Each publication's `data` as the publisher wrote it (passed through, never re-serialised). */
    publishDataTexts: Array<string | undefined> | null
  }
  interface FastifyContextConfig {
    /** The batch limit, for the validation error message. */
    maxBatch?: number
  }
}

export default async function publishRoutes (fastify: FastifyInstance, options: PublishRouteOptions): Promise<void> {
  const { broker, keys, settings, idempotency, readiness, stats } = options
  const rateLimiter = createRateLimiter(settings.ratePerSecond)
  if (keys.count === 0) fastify.log.warn('POST /publish is disabled: ORO_WEBSOCKET_PUBLISH_KEYS is not set (it answers 404 GW_ERR_PUBLISH_DISABLED); WAMP publishing from backend sessions is not affected')
  // JSON only (Fastify would otherwise parse text/plain bodies too), and one publication or an
  // array of them: the schema sees an array either way. Doing it in the parser saves a hook.
  fastify.removeContentTypeParser(['text/plain', 'application/json'])
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    // Deeper nesting would overflow the stack wherever the value is walked (serializing it).
    if (nestsDeeperThan(text as string, MAX_JSON_DEPTH)) {
      done(new GW_ERR_BODY_INVALID(`the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels; send flatter data`), undefined)
      return
    }
    if (typeof request.headers['idempotency-key'] === 'string') request.publishFingerprint = bodyFingerprint(text as string)
    let body: unknown
    try {
      body = JSON.parse(text as string)
    } catch (err) {
      done(text === '' ? new GW_ERR_BODY_INVALID('the body is empty; send a publication as JSON') : new GW_ERR_BODY_INVALID(`malformed JSON (${(err as Error).message})`), undefined)
      return
    }
    request.publishDataTexts = publicationDataTexts(text as string)
    if (Array.isArray(body)) done(null, body)
    else if (body !== null && typeof body === 'object') done(null, [body])
    else done(new GW_ERR_BODY_INVALID('send a publication object or an array of them'), undefined)
  })
  fastify.decorateRequest('publishKeyId', -1)
  fastify.decorateRequest('publishFingerprint', '')
  fastify.decorateRequest('publishDataTexts', null)

  const schema = {
    summary: 'Publish events to WebSocket subscribers',
    description: `One publication object, or an array of at most ${settings.maxBatch} delivered in array order. ` +
      'Answers 202 once the broker took every publication; 504 when the broker did not confirm them (they may have been ' +
      'delivered: retry with the same Idempotency-Key); any other answer means none was delivered.',
    tags: ['publish'],
    security: [{ bearer: [] }],
    headers: {
      type: 'object',
      properties: { 'idempotency-key': { type: 'string', maxLength: 256, description: 'Repeats within 5 minutes get the first answer and are not delivered again; the same key with another body is refused (422)' } }
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
      // Closing: the listener closes once the requests in flight are answered; this one backs off.
      if (readiness.closing) {
        done(new GW_ERR_SHUTTING_DOWN())
        return
      }
      if (keys.count === 0) {
        done(new GW_ERR_PUBLISH_DISABLED())
        return
      }
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
    },
    // Every answer counted by outcome, refusals included; on this route alone, so other requests pay nothing.
    onResponse: (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      stats.httpPublished(publishOutcome(reply.statusCode))
      done()
    }
  }, function (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const publications = request.body as PublicationBody[]
    const key = request.headers['idempotency-key']
    const texts = request.publishDataTexts
    // Without a key (the common case): the broker's promise, then the answer. The callbacks
    // return nothing: a promise resolved with the reply (a thenable) costs Fastify another turn.
    if (typeof key !== 'string' || key === '') return deliver(publications, texts, null).then((answer) => { answerWith(reply, answer, false) })
    const holder = String(request.publishKeyId)
    return idempotency.run(holder, key, request.publishFingerprint, () => deliver(publications, texts, deliveryId(holder, key)))
      .then(({ answer, replay }) => { answerWith(reply, answer, replay) }, (err: unknown) => {
        // A full idempotency store says when its oldest key expires.
        const retryAfter = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds
        if (typeof retryAfter === 'number') reply.header('Retry-After', String(retryAfter))
        throw err
      })
  })

  /** Checks every publication, then hands the batch to the broker; rejects (never throws) on a refusal. */
  function deliver (publications: PublicationBody[], texts: Array<string | undefined> | null, id: string | null): Promise<StoredAnswer> {
    let published: Promise<PublishReceipt>
    try {
      // Rejects with GW_ERR_BROKER_UNAVAILABLE (503) or GW_ERR_PUBLISH_OUTCOME_UNKNOWN (504).
      published = broker.publishBatch(checked(publications, texts, id))
    } catch (err) {
      return Promise.reject(err)
    }
    return published.then((receipt) => {
      stats.publishesReceived += publications.length
      return { status: 202, body: receipt.recipients !== undefined ? { published: publications.length, recipients: receipt.recipients } : { published: publications.length } }
    })
  }

  /** The broker's publications, once everything was checked: a batch is all or nothing. */
  function checked (publications: PublicationBody[], texts: Array<string | undefined> | null, id: string | null): Publication[] {
    const policy = options.policy
    const batch: Publication[] = []
    for (let i = 0; i < publications.length; i++) {
      const { topic, data, exclude, eligible } = publications[i] as PublicationBody
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
      // The publisher's JSON text as it came (validated by the parser): integers above 2^53, 1.0
      // and escapes reach subscribers unchanged, as a WAMP PUBLISH's payload does.
      const publication: Publication = { topic, payload: texts?.[i] ?? JSON.stringify(data), exclude: exclude ?? null, eligible: eligible ?? null }
      if (id !== null) publication.id = `${id}:${i}`
      batch.push(publication)
    }
    const readiness = broker.readiness()
    if (readiness !== 'ok') throw new GW_ERR_BROKER_UNAVAILABLE(readiness)
    return batch
  }
}

/** The JSON content type Fastify's serializer sets. */
const JSON_TYPE = 'application/json; charset=utf-8'

function answerWith (reply: FastifyReply, answer: StoredAnswer, replay: boolean): void {
  if (replay) reply.header('Idempotent-Replayed', 'true')
  reply.code(answer.status)
  // The 202's body written here (it is two integers): what the response schema's serializer
  // would write, without looking the serializer up for the status on every request.
  const body = answer.body as { published?: unknown, recipients?: unknown }
  if (answer.status === 202 && typeof body.published === 'number' && (body.recipients === undefined || typeof body.recipients === 'number')) {
    reply.type(JSON_TYPE).send(body.recipients === undefined ? `{"published":${body.published}}` : `{"published":${body.published},"recipients":${body.recipients}}`)
  } else {
    reply.send(answer.body)
  }
}

/** The same for every retry of a request with this key: nodes deliver a publication id once. */
function deliveryId (holder: string, key: string): string {
  return createHash('sha256').update(`${holder}\u0000${key}`).digest('base64url').slice(0, 22)
}
