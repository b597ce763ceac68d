// Redis Cluster: sharded pub/sub (SPUBLISH / SSUBSCRIBE), so each topic's channel lives on the
// shard that owns its slot and nodes subscribe there.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { startApp, type TestApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { redisOptions, startRedisCluster, until } from './helpers/redis.js'

const KEY = 'key-one'

test('two nodes on a Redis Cluster: events on many topics reach subscribers on both', redisOptions(), async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oro-ws-cluster-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const cluster = await startRedisCluster(t, dir)
  const env = { ORO_WEBSOCKET_BROKER_DSN: cluster.dsn, ORO_WEBSOCKET_PUBLISH_KEYS: KEY }
  const nodes = [await startApp(t, env, 'dev', 'info'), await startApp(t, env, 'dev', 'info')] as [TestApp, TestApp]
  await until(() => nodes.every((n) => n.app.broker.readiness() === 'ok'), 'both nodes connected to the cluster')

  // Topics whose channels hash to different slots (and so, very likely, different shards).
  const topics = ['a', 'b', 'c', 'd', 'e', 'f'].map((s) => `topic/${s}`)
  const subs = await Promise.all([nodes[0].wsUrl, nodes[1].wsUrl].map((url) => connectWamp(url)))
  t.teardown(() => { for (const c of subs) c.close() })
  for (const c of subs) for (const topic of topics) c.subscribe(topic)
  await Promise.all(subs.map((c) => c.sync()))
  const shardChannels = async (): Promise<string[]> => (await Promise.all(cluster.ports.map(async (port) => await cluster.clientOf(port).call('PUBSUB', 'SHARDCHANNELS') as string[]))).flat().sort()
  const shardSubscribers = async (): Promise<number> => {
    let total = 0
    for (const port of cluster.ports) {
      const reply = await cluster.clientOf(port).call('PUBSUB', 'SHARDNUMSUB', ...topics.map((topic) => `oro-ws:${topic}`)) as Array<string | number>
      for (let i = 1; i < reply.length; i += 2) total += Number(reply[i])
    }
    return total
  }
  await until(async () => (await shardSubscribers()) === 2 * topics.length, 'both nodes subscribed to every topic on its shard')
  t.same(await shardChannels(), topics.map((topic) => `oro-ws:${topic}`), 'one shard channel per topic, prefix + topic')
  t.same((await cluster.clientOf(cluster.ports[0] as number).call('PUBSUB', 'CHANNELS')) as string[], [], 'no classic pub/sub channels')

  for (const [i, topic] of topics.entries()) {
    const res = await fetch(`${nodes[i % 2].url}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify([{ topic, data: `${topic} 1` }, { topic, data: `${topic} 2` }])
    })
    t.equal(res.status, 202, `${topic} accepted`)
  }
  for (const sub of subs) {
    for (const topic of topics) t.same(await sub.waitForEvents(2, topic), [`${topic} 1`, `${topic} 2`], `${topic}: both events, in order`)
  }

  // The last local subscriber leaves: the node leaves the shard channel.
  subs[0]?.unsubscribe('topic/a')
  await until(async () => (await shardSubscribers()) === 2 * topics.length - 1, 'node 0 to leave topic/a')
  t.pass('a node leaves a shard channel with its last local subscriber')
})
