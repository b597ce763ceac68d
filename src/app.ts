// Builds the Fastify application: plugins (config, readiness, ...) and routes, plus the JSON
// error answers every route shares ({code, message} with a GW_ERR_* code; 5xx details hidden).
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify'
import configPlugin from '../plugins/config.js'
import readinessPlugin from '../plugins/readiness.js'
import healthRoutes from '../routes/health.js'
import brokerPlugin from '../plugins/broker.js'
import websocketPlugin from '../plugins/websocket.js'
import websocketRoutes from '../routes/websocket.js'
import metricsRoutes from '../routes/metrics.js'
import { GW_ERR_INTERNAL, GW_ERR_NOT_FOUND } from './errors.js'
import type { LoadedConfig } from './config/load.js'
import type { GatewayLogger, Mode } from './logger.js'

export interface AppOptions {
  loaded: LoadedConfig
  mode: Mode
  logger: GatewayLogger
}

export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    // Health probes must keep answering while the gateway drains; draining is ours to report.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    connectionTimeout: 0,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    bodyLimit: 1024 * 1024,
    // Requests are logged once, at debug, by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true })
  }) as unknown as FastifyInstance

  app.setErrorHandler(function (error: FastifyError, request, reply) {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed')
      if (error.code?.startsWith('GW_ERR_') !== true) {
        const internal = new GW_ERR_INTERNAL()
        return reply.code(500).send({ code: internal.code, message: internal.message })
      }
    } else {
      request.log.info({ code: error.code, status }, error.message)
    }
    return reply.code(status).send({ code: error.code ?? 'GW_ERR_BAD_REQUEST', message: error.message })
  })

  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request')
  })

  app.setNotFoundHandler(function (request, reply) {
    const error = new GW_ERR_NOT_FOUND(request.method, request.url.split('?')[0])
    return reply.code(404).send({ code: error.code, message: error.message })
  })

  await app.register(configPlugin, { loaded: options.loaded, mode: options.mode })
  await app.register(readinessPlugin)
  await app.register(brokerPlugin)
  await app.register(websocketPlugin)
  await app.register(healthRoutes)
  await app.register(metricsRoutes)
  await app.register(websocketRoutes)
  return app
}
