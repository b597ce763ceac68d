// The `serve` command: builds the app, listens on the SERVER DSN's address, and shuts down
// gracefully on SIGTERM/SIGINT (the WebSocket listener closed and readiness 503 at once, sessions
// dropped, in-flight requests finished, exit 0 within the shutdown timeout; a second signal exits
// at once).
import type { FastifyInstance } from 'fastify'
import { buildApp, buildMetricsApp, buildPublishApp } from './app.js'
import { trackConnections, type ConnectionTracker } from './src/http-drain.js'
import { generateKey } from './src/publish/keys.js'
import { removeDevKey, saveDevKey } from './src/publish/dev-key.js'
import { loadConfig, type LoadedConfig, type LoadOptions } from './src/config/load.js'
import { createLogger, lifecycleLogger, logLevel, type GatewayLogger, type Mode } from './src/logger.js'
import { ConfigError } from './src/config/errors.js'
import { GW_ERR_LISTEN_FAILED } from './src/errors.js'
import { describeListenError } from './src/listen-error.js'
import { startLine } from './src/start-line.js'
import { startWarnings } from './src/start-warnings.js'
import { nodeEngine } from './src/version.js'
import { reloadOnSighup, type TlsListener } from './src/tls/reload.js'
import type { Server as TlsServer } from 'node:tls'

/** `serve`'s exit code when the SERVER DSN turns the server off (empty, or an empty host). */
export const EXIT_SERVER_DISABLED = 3

/** Why nothing runs: the SERVER DSN, where it was set, and what turns the server on. */
export function serverDisabledLine (loaded: LoadedConfig): string {
  const value = loaded.settings.ORO_WEBSOCKET_SERVER_DSN
  const origin = loaded.origins.ORO_WEBSOCKET_SERVER_DSN
  const where = origin.kind === 'file' ? ` in ${origin.file}` : origin.kind === 'parameters' ? ` in ${origin.file}` : origin.kind === 'environment' ? ' in the environment' : ''
  const what = value.trim() === '' ? 'is empty' : `("${value}") has an empty host`
  const stock = value.trim() === '' && origin.kind === 'file' ? ' (as in Oro\'s stock .env-app)' : ''
  return `WebSocket is off: ORO_WEBSOCKET_SERVER_DSN${where} ${what}${stock}, so there is no server to run (exit ${EXIT_SERVER_DISABLED}); ` +
    'to run the gateway set ORO_WEBSOCKET_SERVER_DSN=//0.0.0.0:8080, ORO_WEBSOCKET_FRONTEND_DSN=//*:8080/ws and ORO_WEBSOCKET_BACKEND_DSN=tcp://127.0.0.1:8080 in .env-app.local or the environment (the Oro application reads the same)'
}

export interface ServeOptions {
  mode: Mode
  verbosity: number
  quiet: boolean
  load: LoadOptions
}

export interface RunningServer {
  app: FastifyInstance
  logger: GatewayLogger
  /** Resolves with the exit code once the server has shut down. */
  done: Promise<number>
}

export async function serve (options: ServeOptions): Promise<RunningServer | number> {
  // Without keys, prod serves POST /publish as disabled (Oro's backend publishes over WAMP and
  // needs none); development makes one so that the `publish` command works out of the box. It is
  // resolved with the rest of the configuration, which is frozen from then on.
  const loaded = loadConfig(options.mode === 'dev' ? { ...options.load, devPublishKey: generateKey() } : options.load)
  const { gateway } = loaded
  if (gateway.drainDelayMs >= gateway.shutdownTimeoutMs) {
    throw new ConfigError('ORO_WEBSOCKET_DRAIN_DELAY', `(${gateway.drainDelayMs / 1000} s) must be shorter than the shutdown timeout (${gateway.shutdownTimeoutMs / 1000} s)`, 'ORO_WEBSOCKET_DRAIN_DELAY=1 with --shutdown-timeout 10')
  }
  const logger = createLogger({
    mode: options.mode,
    level: logLevel(options.mode, options.verbosity, options.quiet),
    pretty: options.mode === 'dev' && process.stdout.isTTY === true
  })

  if (!gateway.server.enabled) {
    // One line, and an exit code of its own: supervisors and scripts can tell "off" from a failure.
    process.stderr.write(serverDisabledLine(loaded) + '\n')
    return EXIT_SERVER_DISABLED
  }

  const devKey = gateway.publish.devKey

  const appOptions = { loaded, mode: options.mode, logger }
  const app = await buildApp(appOptions)
  const publishApp = gateway.publish.listen === null ? null : await buildPublishApp(app, appOptions)
  // What to close, in order: the listeners first, then what they use (the main app's broker,
  // closed by app.close() once its own listener is done), then the rest.
  const cleanups: Array<() => Promise<void> | void> = []
  await listen(app, gateway.server)
  if (publishApp !== null && gateway.publish.listen !== null) {
    await listen(publishApp, gateway.publish.listen, app)
    cleanups.push(() => publishApp.close())
  }
  const metricsApp = await listenMetrics(app, appOptions)
  if (metricsApp !== null) cleanups.push(() => metricsApp.close())
  cleanups.push(() => app.close())
  // The WebSocket listener first: the drain closes its listening socket before anything else.
  const listeners = [app, ...(publishApp !== null ? [publishApp] : []), ...(metricsApp !== null ? [metricsApp] : [])].map((a) => trackConnections(a.server))
  if (devKey !== null) {
    const port = gateway.publish.listen?.port ?? gateway.server.port
    let where: string
    try {
      where = `also in ${saveDevKey(port, devKey)}`
      cleanups.push(() => { removeDevKey(port) })
    } catch (err) {
      // The key still works; the `publish` command then needs --key.
      where = `not saved to a file: ${(err as Error).message}`
    }
    // Printed once, on stderr, never logged.
    process.stderr.write(`Development publish key (made at start, valid until the gateway stops; ${where}):\n  ${devKey}\n`)
  }
  // Start and stop lines show at prod's default level too (lifecycleLogger); -q hides them.
  const lifecycle = lifecycleLogger(logger, options.quiet)
  const start = startLine(loaded, options.mode)
  lifecycle.notice(start.fields, start.msg)
  for (const warning of startWarnings(loaded, process.versions.node, nodeEngine)) logger.warn(warning.fields, warning.msg)

  // SIGHUP reloads the certificates of the TLS listeners and the topic routing files (every
  // file-based setting); a `systemctl reload` never drops a session. Everything else (the
  // environment, .env-app files, DSNs, limits) is read at start only: changing it needs a restart.
  const tlsListeners: TlsListener[] = []
  if (gateway.server.tls !== null) tlsListeners.push({ name: 'websocket', server: app.server as unknown as TlsServer, tls: gateway.server.tls })
  const publishTls = gateway.publish.listen?.tls ?? null
  if (publishApp !== null && publishTls !== null) tlsListeners.push({ name: 'publish', server: publishApp.server as unknown as TlsServer, tls: publishTls })
  const metricsTls = gateway.metrics.listen?.tls ?? null
  if (metricsApp !== null && metricsTls !== null) tlsListeners.push({ name: 'metrics', server: metricsApp.server as unknown as TlsServer, tls: metricsTls })
  cleanups.push(reloadOnSighup(tlsListeners, lifecycle, () => { app.reloadTopics('SIGHUP', lifecycle) }))

  const done = handleSignals(app, lifecycle, gateway.shutdownTimeoutMs, gateway.drainDelayMs, listeners, cleanups)
  return { app, logger, done }
}

/** ORO_WEBSOCKET_METRICS_LISTEN: GET /metrics on its own address, or null when not set. */
async function listenMetrics (main: FastifyInstance, options: Parameters<typeof buildMetricsApp>[1]): Promise<FastifyInstance | null> {
  const address = options.loaded.gateway.metrics.listen
  if (address === null) return null
  const metricsApp = await buildMetricsApp(main, options)
  await listen(metricsApp, address, main)
  return metricsApp
}

// The kernel's queue of connections not yet accepted. Node's default (511) overflows when a whole
// office comes back at once (released Oro retries every page of a restart 60 s after the drop,
// together): 10,000 pages at once got 42 ECONNRESET, each costing its page another 120 s. The
// kernel caps it at net.core.somaxconn (4096 on current Linux).
export const LISTEN_BACKLOG = 65535

async function listen (app: FastifyInstance, address: { host: string, port: number }, alsoClose?: FastifyInstance): Promise<void> {
  try {
    await app.listen({ host: address.host, port: address.port, backlog: LISTEN_BACKLOG })
  } catch (err) {
    await app.close().catch(() => {})
    await alsoClose?.close().catch(() => {})
    const { code, message } = err as NodeJS.ErrnoException
    throw new GW_ERR_LISTEN_FAILED(`${address.host}:${address.port}`, describeListenError(code, message, address.host, address.port))
  }
}

function handleSignals (app: FastifyInstance, logger: GatewayLogger, timeoutMs: number, drainDelayMs: number, listeners: ConnectionTracker[], cleanups: Array<() => Promise<void> | void>): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal during shutdown: exiting now')
        resolve(1)
        return
      }
      stopping = true
      logger.notice({ signal, timeoutMs }, 'shutting down: the WebSocket listener is closed (new connections are refused), readiness is now 503, sessions are dropped')
      const timer = setTimeout(() => {
        logger.error({ timeoutMs }, `shutdown did not finish within ${timeoutMs / 1000} s; exiting anyway`)
        resolve(1)
      }, timeoutMs)
      timer.unref()
      shutdown(app, listeners, drainDelayMs, cleanups).then(() => {
        clearTimeout(timer)
        logger.notice('shutdown complete')
        resolve(0)
      }, (err: unknown) => {
        clearTimeout(timer)
        logger.error({ err }, 'shutdown failed')
        resolve(1)
      })
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
}

// The WebSocket listener stops accepting first, before any session is dropped: the pages'
// reconnects are then refused by the kernel (nginx fails over to another node for free, a
// successor can bind the port) instead of reaching this node and getting 503. Then draining
// (readiness 503, sessions dropped, upgrades waiting in admission answered 503, requests on open
// connections and the other listeners still served while load balancers notice), then closing:
// new publications are refused with 503 and Retry-After, the requests in flight are answered,
// each listener closes without resetting a connection (http-drain.ts), and only then does the
// broker close. An accepted request is always answered.
async function shutdown (app: FastifyInstance, listeners: ConnectionTracker[], drainDelayMs: number, cleanups: Array<() => Promise<void> | void>): Promise<void> {
  listeners[0]?.stopAccepting()
  app.readiness.markDraining()
  if (drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, drainDelayMs))
  app.readiness.markClosing()
  await Promise.all(listeners.map((listener) => listener.close(1000)))
  for (const cleanup of cleanups) await cleanup()
}

export function flush (logger: GatewayLogger): Promise<void> {
  return new Promise((resolve) => {
    // A stdout nobody reads (a full pipe) must not keep the process from exiting.
    setTimeout(resolve, 2000).unref()
    try {
      logger.flush(() => resolve())
    } catch {
      resolve()
    }
  })
}
