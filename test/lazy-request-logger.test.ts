// A request's logger becomes a pino child only when the request logs; its lines are the same as a
// pino child's: the request id bound, the route's level, secrets redacted.
import { test } from 'tap'
import { Writable } from 'node:stream'
import { createLogger } from '../src/logger.js'
import { LazyRequestLogger, lazyChildLoggerFactory } from '../src/lazy-request-logger.js'
import { startApp } from './helpers/app.js'

function capture (level: string): { logger: ReturnType<typeof createLogger>, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb() } })
  return { logger: createLogger({ mode: 'prod', level, pretty: false, destination }), lines }
}

test('no pino child until the first line; then the bindings, the level option and redaction apply', async (t) => {
  const { logger, lines } = capture('info')
  let children = 0
  const child = logger.child.bind(logger)
  logger.child = ((...args: Parameters<typeof logger.child>) => { children++; return child(...args) }) as typeof logger.child
  const lazy = lazyChildLoggerFactory(logger, { reqId: 'req-7' }, { level: 'warn' })
  t.ok(lazy instanceof LazyRequestLogger)
  t.equal(children, 0, 'made without a pino child')
  t.equal(lazy.level, 'warn', 'the level it was given')
  for (const method of ['info', 'error', 'debug', 'fatal', 'warn', 'trace', 'child']) t.type((lazy as unknown as Record<string, unknown>)[method], 'function', `${method} (Fastify checks these)`)
  lazy.info('below the route level')
  t.equal(children, 1, 'the first call makes the child')
  lazy.warn({ ticket: 'T', key: 'K' }, 'shown')
  lazy.notice('below warn too')
  t.equal(children, 1, 'made once')
  t.equal(lines.length, 1)
  t.match(lines[0], { reqId: 'req-7', level: 'warn', msg: 'shown', ticket: '[redacted]', key: '[redacted]' })
  t.same(lazy.bindings(), { reqId: 'req-7' })
  t.equal(lazy.isLevelEnabled('info'), false)
})

test('in the app: a refused request logs with its request id', async (t) => {
  const { url, logs } = await startApp(t, { ORO_WEBSOCKET_PUBLISH_KEYS: 'lazy-logger-test-key-0123456789' }, 'dev', 'info')
  const ok = await fetch(`${url}/healthz`)
  t.equal(ok.status, 200)
  const before = logs.length
  const refused = await fetch(`${url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"topic":"x","data":1}' })
  t.equal(refused.status, 401, await refused.clone().text())
  const line = logs.slice(before).find((l) => l.code === 'GW_ERR_UNAUTHORIZED')
  t.ok(line, 'the refusal was logged')
  t.type(line?.reqId, 'string', 'with the request id bound')
})
