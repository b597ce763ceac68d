// Starts the gateway in-process on a free loopback port, with its log lines captured.
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../app.js'
import { loadConfig } from '../../src/config/load.js'
import { createLogger, type Mode } from '../../src/logger.js'

export interface TestApp {
  app: FastifyInstance
  port: number
  url: string
  wsUrl: string
  logs: Array<Record<string, unknown>>
}

interface Teardown { teardown (fn: () => unknown): void }

/** options.appRoot: --app-root (an Oro application's directory, e.g. a fixture). */
export async function startApp (t: Teardown, env: Record<string, string> = {}, mode: Mode = 'dev', level = 'debug', options: { appRoot?: string } = {}): Promise<TestApp> {
  const logs: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>)
      callback()
    }
  })
  const loaded = loadConfig({ env: { ORO_WEBSOCKET_SERVER_DSN: '//127.0.0.1:8080', ORO_WEBSOCKET_TOPICS: 'test/fixtures/open-topics.yml', ...env }, cwd: process.cwd(), ...(options.appRoot !== undefined ? { appRoot: options.appRoot } : {}) })
  const logger = createLogger({ mode, level, pretty: false, destination })
  const app = await buildApp({ loaded, mode, logger })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, logs }
}
