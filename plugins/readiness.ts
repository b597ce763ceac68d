// The process's readiness state on the instance, so routes can report it and plugins can add
// their dependency checks (broker, database) and react to draining.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Readiness } from '../src/readiness.js'

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness
  }
}

async function readinessPlugin (fastify: FastifyInstance): Promise<void> {
  fastify.decorate('readiness', new Readiness())
  fastify.addHook('onListen', async function () {
    this.readiness.markListening()
  })
}

export default fp(readinessPlugin, { name: 'readiness', fastify: '5.x' })
