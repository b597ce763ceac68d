// Applies a save of Oro's System Configuration without a restart: with Oro's database set
// (ORO_DB_DSN, else ORO_DB_URL), the gateway watches oro_sync_websocket_server_state (src/access/server-state-watch.ts) and, when
// the system_config row changes, re-reads the allowed origins (Oro's application URL) and the
// topic routing files at once. Oro's own server stops itself on that change; no session is
// dropped here.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { ServerStateWatch, STATE_TABLE } from '../src/access/server-state-watch.js'
import type { GatewayLogger } from '../src/logger.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Null without Oro's database (neither ORO_DB_DSN nor ORO_DB_URL set). */
    serverStateWatch: ServerStateWatch | null
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

async function serverStatePlugin (fastify: FastifyInstance): Promise<void> {
  const { databaseUrl } = fastify.gateway
  if (databaseUrl === undefined) {
    fastify.decorate('serverStateWatch', null)
    return
  }
  const log = fastify.log as unknown as GatewayLogger
  const [{ parseDatabaseUrl }, { openDatabaseConnection }] = await Promise.all([
    import('../src/auth/database-url.js'),
    import('../src/auth/database-connection.js')
  ])
  const url = parseDatabaseUrl(databaseUrl)
  // Oro's tables live together: the state table is where the user table is.
  const userTable = fastify.gateway.auth.userTable
  const schema = userTable.includes('.') ? userTable.slice(0, userTable.indexOf('.')) : undefined
  const quote = url.driver === 'pg' ? '"' : '`'
  const table = schema !== undefined && IDENTIFIER.test(schema) ? `${quote}${schema}${quote}.${quote}${STATE_TABLE}${quote}` : `${quote}${STATE_TABLE}${quote}`
  const watch = new ServerStateWatch({
    connect: async () => await openDatabaseConnection(url, { connectTimeoutMs: 2000, queryTimeoutMs: 2000, applicationName: 'oro-websocket-gateway (state)' }),
    table,
    log,
    setting: fastify.gateway.databaseSetting,
    onChange: async () => {
      try {
        await Promise.all([
          fastify.originRefresh?.refreshNow(),
          Promise.resolve().then(() => fastify.reloadTopics("Oro's system configuration was saved"))
        ])
      } catch (err) {
        log.error({ err }, "applying a change of Oro's system configuration failed")
      }
    }
  })
  fastify.decorate('serverStateWatch', watch)
  // Polling starts once the gateway listens, so the first read does not hold the start.
  fastify.addHook('onReady', async () => { void watch.start() })
  fastify.addHook('onClose', async () => { await watch.stop() })
}

export default fp(serverStatePlugin, { name: 'server-state', fastify: '5.x', dependencies: ['config', 'topics', 'auth'] })
