// The node's hub (local topic registry and fan-out) and the broker between nodes, on the
// instance. The memory broker serves one node; the broker's readiness shows in /readyz.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Hub } from '../src/broker/hub.js'
import { MemoryBroker } from '../src/broker/memory-broker.js'
import type { Broker } from '../src/broker/broker.js'

declare module 'fastify' {
  interface FastifyInstance {
    hub: Hub
    broker: Broker
  }
}

async function brokerPlugin (fastify: FastifyInstance): Promise<void> {
  const hub = new Hub()
  const broker = new MemoryBroker(hub)
  hub.setInterest({ first: (topic) => broker.subscribe(topic), last: (topic) => broker.unsubscribe(topic) })
  fastify.decorate('hub', hub)
  fastify.decorate('broker', broker)
  fastify.readiness.register('broker', () => broker.readiness())
  fastify.addHook('onClose', async () => { await broker.close() })
}

export default fp(brokerPlugin, { name: 'broker', fastify: '5.x', dependencies: ['readiness'] })
