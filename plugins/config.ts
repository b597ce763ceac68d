// Configuration on the Fastify instance: `gateway`, what the settings resolved to, read by every
// plugin and route. loadConfig (src/config/load.ts) validated the settings against the one schema
// and froze the result; nothing here validates them again or changes them.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { LoadedConfig } from '../src/config/load.js'
import type { GatewayConfig } from '../src/config/gateway-config.js'
import type { Mode } from '../src/logger.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Frozen: resolved once by loadConfig. */
    gateway: Readonly<GatewayConfig>
    mode: Mode
  }
}

export interface ConfigPluginOptions {
  loaded: LoadedConfig
  mode: Mode
}

async function configPlugin (fastify: FastifyInstance, opts: ConfigPluginOptions): Promise<void> {
  fastify.decorate('gateway', opts.loaded.gateway)
  fastify.decorate('mode', opts.mode)
}

export default fp(configPlugin, { name: 'config', fastify: '5.x' })
