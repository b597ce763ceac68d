// A Redis PING at ORO_WEBSOCKET_BROKER_DSN, with the same client and options the gateway uses
// (one server, Sentinel or Cluster), failing fast instead of retrying.
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { BrokerTarget } from '../broker/redis-dsn.js'

export async function pingBroker (target: Exclude<BrokerTarget, { kind: 'memory' }>, timeoutMs = 3000): Promise<string> {
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: () => null,
    connectionName: 'oro-ws-check',
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {})
  }
  const client = target.kind === 'cluster'
    ? new Cluster(target.nodes, { lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: () => null, redisOptions: common })
    : new Redis(target.kind === 'redis'
      ? { ...common, host: target.host, port: target.port, db: target.db }
      : {
          ...common,
          sentinels: target.sentinels,
          name: target.name,
          db: target.db,
          sentinelRetryStrategy: () => null,
          ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
          ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
          ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {})
        })
  client.on('error', () => {})
  try {
    await client.connect()
    return await client.ping()
  } finally {
    client.disconnect()
  }
}
