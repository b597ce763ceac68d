// Configuration on the Fastify instance: @fastify/env validates the gathered settings against the
// one schema (src/config/schema.ts) and decorates `config`; `gateway` holds what they resolve to.
import fp from 'fastify-plugin'
import fastifyEnv from '@fastify/env'
import type { FastifyInstance } from 'fastify'
import { validationSchema, type LoadedConfig } from '../src/config/load.js'
import type { Settings } from '../src/config/schema.js'
import type { GatewayConfig } from '../src/config/gateway-config.js'
import type { Mode } from '../src/logger.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Settings
    gateway: GatewayConfig
    mode: Mode
  }
}

export interface ConfigPluginOptions {
  loaded: LoadedConfig
  mode: Mode
}

async function configPlugin (fastify: FastifyInstance, opts: ConfigPluginOptions): Promise<void> {
  await fastify.register(fastifyEnv, { schema: validationSchema(), data: opts.loaded.values, env: false, confKey: 'config' })
  fastify.decorate('gateway', opts.loaded.gateway)
  fastify.decorate('mode', opts.mode)
}

export default fp(configPlugin, { name: 'config', fastify: '5.x' })
