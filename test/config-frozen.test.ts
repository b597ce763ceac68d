// Configuration resolved once (issue 18): loadConfig validates the settings against the schema
// once and hands out a frozen object; the app decorates that same object and validates nothing
// again; `serve --env=dev` gets its publish key from loadConfig instead of writing it in later.
import { test } from 'tap'
import { createRequire } from 'node:module'
import { loadConfig } from '../src/config/load.js'
import { startApp } from './helpers/app.js'

const env = { ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:8080', ORO_WEBSOCKET_PUBLISH_KEYS: 'frozen-key' }

test('the loaded configuration is frozen: a write throws', async (t) => {
  const loaded = loadConfig({ env, cwd: process.cwd() })
  t.throws(() => { (loaded.gateway.publish as { keys: string[] }).keys = ['dev'] }, TypeError, 'a resolved value')
  t.throws(() => { loaded.gateway.publish.keys.push('dev') }, TypeError, 'an array in it')
  t.throws(() => { (loaded.gateway.websocket as { maxSubscriptions: number }).maxSubscriptions = 1 }, TypeError, 'a limit')
  t.throws(() => { (loaded.settings as Record<string, unknown>).ORO_WEBSOCKET_MAX_SUBSCRIPTIONS = 1 }, TypeError, 'a validated setting')
  t.throws(() => { (loaded as { topicsFile?: string }).topicsFile = 'x' }, TypeError, 'the object itself')
  t.ok(Object.isFrozen(loaded.origins.ORO_WEBSOCKET_PUBLISH_KEYS), 'where each setting came from')
  t.ok(loaded.gateway.access.origins.allows('http://localhost'), 'what it resolved to still works')
})

test('serve --env=dev: the development key is resolved with the configuration, not added later', async (t) => {
  const { ORO_WEBSOCKET_PUBLISH_KEYS: _keys, ...noKeys } = env
  const dev = loadConfig({ env: noKeys, cwd: process.cwd(), devPublishKey: 'made-at-start' })
  t.same(dev.gateway.publish.keys, ['made-at-start'])
  t.equal(dev.gateway.publish.devKey, 'made-at-start')
  const given = loadConfig({ env, cwd: process.cwd(), devPublishKey: 'made-at-start' })
  t.same(given.gateway.publish.keys, ['frozen-key'], 'keys that are set win')
  t.equal(given.gateway.publish.devKey, null)
})

test('the settings are validated once: loadConfig checks them, the app reads the result', async (t) => {
  // env-schema (which @fastify/env wraps too) validates with its own ajv: count the validations
  // of the settings' schema, whoever asks for them.
  const envSchemaPath = createRequire(import.meta.url).resolve('env-schema')
  const Ajv = createRequire(envSchemaPath)('ajv') as { prototype: { validate: (schema: unknown, data: unknown) => unknown } }
  const validate = Ajv.prototype.validate
  let count = 0
  Ajv.prototype.validate = function (this: unknown, schema: unknown, data: unknown) {
    if ((schema as { properties?: Record<string, unknown> } | null)?.properties?.ORO_WEBSOCKET_SERVER_DSN !== undefined) count++
    return validate.call(this, schema, data)
  }
  t.teardown(() => { Ajv.prototype.validate = validate })

  const gw = await startApp(t, { ORO_WEBSOCKET_PUBLISH_KEYS: 'frozen-key' }, 'dev', 'warn')
  t.equal(count, 1, 'one validation from the environment to a listening app')
  t.ok(Object.isFrozen(gw.app.gateway) && Object.isFrozen(gw.app.gateway.publish), 'the app reads the frozen configuration')
  t.equal(count, 1)
})
