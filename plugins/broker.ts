// The node's hub (local topic registry and fan-out) and the broker between nodes, on the
// instance. The memory broker serves one node, the Redis broker many (ORO_WEBSOCKET_BROKER_DSN);
// the broker's readiness shows in /readyz. The Idempotency-Key store goes with the broker: in
// memory for one node, in Redis (cluster-wide) with Redis.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Hub } from '../src/broker/hub.js'
import { LogThrottle, clip } from '../src/log-throttle.js'
import { MemoryBroker } from '../src/broker/memory-broker.js'
import type { Broker } from '../src/broker/broker.js'
import { createMemoryIdempotencyStore, type IdempotencyStore } from '../src/publish/idempotency.js'

declare module 'fastify' {
  interface FastifyInstance {
    hub: Hub
    broker: Broker
    /** Idempotency-Key answers for POST /publish. */
    idempotency: IdempotencyStore
  }
}

async function brokerPlugin (fastify: FastifyInstance): Promise<void> {
  const { target, redisPrefix, hubQueueBytes } = fastify.gateway.broker
  const shedLog = new LogThrottle()
  const stats = fastify.stats
  const hub = new Hub({
    stats,
    // Held 1 ms after a fan-out that merged several publishers' calls (src/broker/fan-out.ts).
    holdMs: 1,
    maxQueuedBytes: hubQueueBytes,
    onShed: (publication, queuedBytes) => {
      const suppressed = shedLog.take('shed')
      if (suppressed >= 0) {
        // A loss (nobody can be told): at error, one line a minute with the count left out.
        fastify.log.error({ topic: clip(publication.topic), bytes: publication.payload.length, queuedBytes, cap: hubQueueBytes, suppressed },
          'event from Redis dropped: this node\'s fan-outs are behind and its queue is over ORO_WEBSOCKET_HUB_QUEUE_BYTES beyond its largest event (oro_ws_publications_shed_total); give the node more CPU, fewer subscribers, or a larger ORO_WEBSOCKET_HUB_QUEUE_BYTES')
      }
    },
    onError: (err) => { fastify.log.error({ err }, 'a queued delivery failed') }
  })
  let broker: Broker
  let idempotency: IdempotencyStore
  if (target.kind === 'memory') {
    broker = new MemoryBroker(hub)
    idempotency = createMemoryIdempotencyStore()
  } else {
    // Loaded only with a Redis DSN: ioredis alone is ~10 MB of a single node's memory.
    const [{ RedisBroker }, { createRedisIdempotencyStore }] = await Promise.all([import('../src/broker/redis-broker.js'), import('../src/publish/redis-idempotency.js')])
    const redisBroker = new RedisBroker({ target, prefix: redisPrefix, deliver: (publication) => hub.broadcast(publication), log: fastify.log.child({ component: 'broker' }), stats })
    broker = redisBroker
    idempotency = createRedisIdempotencyStore(redisBroker.redis, { prefix: redisPrefix })
  }
  hub.setInterest({ first: (topic) => broker.subscribe(topic), last: (topic) => broker.unsubscribe(topic) })
  fastify.decorate('hub', hub)
  fastify.decorate('broker', broker)
  fastify.decorate('idempotency', idempotency)
  fastify.readiness.register('broker', () => broker.readiness())
  fastify.addHook('onClose', async () => {
    await broker.close()
    // WAMP publications still waiting for room in the hub's queue are not delivered now: each
    // session logs its loss at error (src/wamp/session.ts) before the process ends.
    hub.wakeRoomWaiters()
  })
}

export default fp(brokerPlugin, { name: 'broker', fastify: '5.x', dependencies: ['config', 'readiness'] })
