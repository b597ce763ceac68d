// Builds the Fastify application: plugins (errors, config, readiness, broker, topics, auth,
// websocket) and routes (health, metrics, publish, WebSocket upgrades), in dependency order.
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import configPlugin from './plugins/config.js'
import readinessPlugin from './plugins/readiness.js'
import healthRoutes from './routes/health.js'
import brokerPlugin from './plugins/broker.js'
import websocketPlugin from './plugins/websocket.js'
import websocketRoutes from './routes/websocket.js'
import metricsRoutes from './routes/metrics.js'
import metricsPlugin from './plugins/metrics.js'
import errorsPlugin from './plugins/errors.js'
import openapiPlugin from './plugins/openapi.js'
import publishRoutes from './routes/publish.js'
import { createPublishKeys } from './src/publish/keys.js'
import topicsPlugin from './plugins/topics.js'
import authPlugin from './plugins/auth.js'
import serverStatePlugin from './plugins/server-state.js'
import statusPlugin from './plugins/status.js'
import statusRoutes from './routes/status.js'
import type { LoadedConfig } from './src/config/load.js'
import { droppedLogLines, type GatewayLogger, type Mode } from './src/logger.js'
import { GatewayStats } from './src/stats.js'
import { httpsOptions, type ListenerTls } from './src/tls/context-options.js'
import { lazyChildLoggerFactory } from './src/lazy-request-logger.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's figures (counters, histograms): one per app, never shared (src/stats.ts). */
    stats: GatewayStats
  }
}

export interface AppOptions {
  loaded: LoadedConfig
  mode: Mode
  logger: GatewayLogger
}

/** tls: the listener's certificate (SERVER DSN or a separate listener's context options); serves https:// and wss://. */
function createFastify (options: AppOptions, tls: ListenerTls | null = null): FastifyInstance {
  // loadConfig reads the certificate; a listener configured for TLS never falls back to plain TCP.
  if (tls !== null && tls.server === undefined) throw new Error(`${tls.setting}: TLS certificate not loaded (loadConfig reads it)`)
  return Fastify({
    ...(tls?.server !== undefined ? { https: httpsOptions(tls.server) } : {}),
    loggerInstance: options.logger,
    // A request's child logger becomes a pino child only when the request logs (lazy-request-logger.ts).
    childLoggerFactory: lazyChildLoggerFactory as unknown as FastifyServerOptions['childLoggerFactory'],
    // Health probes must keep answering while the gateway drains; draining is ours to report.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    connectionTimeout: 0,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    bodyLimit: 1024 * 1024,
    // A body that fails a schema is an error, never silently coerced or trimmed.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // Requests are logged once, at debug, by the onResponse hook in buildApp.
    logController: new LogController({ disableRequestLogging: true })
  }) as unknown as FastifyInstance
}

export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const app = createFastify(options, options.loaded.gateway.server.tls)
  // Requests are logged at debug; the hook exists only when that level is on (it costs a promise
  // and an object per request otherwise).
  if (options.logger.isLevelEnabled('debug')) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug({ method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request')
    })
  }

  // One stats object per app: plugins hand it down with their log (sessions, hub, broker, routes).
  app.decorate('stats', new GatewayStats())
  await app.register(errorsPlugin)
  await app.register(openapiPlugin)
  await app.register(configPlugin, { loaded: options.loaded, mode: options.mode })
  await app.register(readinessPlugin)
  await app.register(brokerPlugin)
  await app.register(topicsPlugin, { loaded: options.loaded })
  await app.register(authPlugin)
  await app.register(websocketPlugin)
  await app.register(serverStatePlugin)
  // The dropped log lines are the one stdout destination's (the logger's), read at scrape time.
  await app.register(metricsPlugin, { logLinesDropped: () => droppedLogLines(options.logger) })
  await app.register(statusPlugin)
  await app.register(healthRoutes)
  if (options.loaded.gateway.metrics.listen === null) {
    await app.register(metricsRoutes)
    // Here only with a key (checked by the config: this is the public listener).
    if (app.statusBoard !== null) await app.register(statusRoutes, { board: app.statusBoard, key: app.gateway.status.key })
  }
  const publish = publishOptions(app)
  if (options.loaded.gateway.publish.listen === null) await app.register(publishRoutes, publish)
  await app.register(websocketRoutes)
  return app
}

function publishOptions (app: FastifyInstance): Parameters<typeof publishRoutes>[1] {
  const settings = app.gateway.publish
  return {
    broker: app.broker,
    keys: createPublishKeys(settings.keys),
    settings,
    policy: app.publishPolicy,
    idempotency: app.idempotency,
    readiness: app.readiness,
    // The publish listener counts into the main app's stats: its /metrics is the main app's.
    stats: app.stats
  }
}

/**
 * The separate listener for POST /publish (ORO_WEBSOCKET_PUBLISH_LISTEN): its own small app that
 * publishes through the main app's broker, with its own /healthz and /openapi.json, and /readyz
 * reporting the main app's readiness (publishers such as the Oro bundle ask it beside /publish).
 */
export async function buildPublishApp (main: FastifyInstance, options: AppOptions): Promise<FastifyInstance> {
  const app = createFastify(options, options.loaded.gateway.publish.listen?.tls ?? null)
  await app.register(errorsPlugin)
  await app.register(openapiPlugin)
  app.decorate('readiness', main.readiness)
  await app.register(healthRoutes)
  await app.register(publishRoutes, publishOptions(main))
  return app
}

/**
 * The separate listener for GET /metrics (ORO_WEBSOCKET_METRICS_LISTEN): the main app's metrics
 * (and status page), with its own /healthz and /readyz (the main app's readiness: they keep
 * answering while a drain has closed the WebSocket listener); nothing of it on the WebSocket listener.
 */
export async function buildMetricsApp (main: FastifyInstance, options: AppOptions): Promise<FastifyInstance> {
  const app = createFastify(options, options.loaded.gateway.metrics.listen?.tls ?? null)
  await app.register(errorsPlugin)
  app.decorate('metricsRegistry', main.metricsRegistry)
  app.decorate('readiness', main.readiness)
  await app.register(healthRoutes)
  await app.register(metricsRoutes)
  if (main.statusBoard !== null) await app.register(statusRoutes, { board: main.statusBoard, key: main.gateway.status.key })
  return app
}
