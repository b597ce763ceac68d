import { test } from 'tap'
import { describeTarget, maskDsn, parseBrokerDsn } from '../src/broker/redis-dsn.js'
import { decodePublication, encodePublication } from '../src/broker/redis-broker.js'
import { ConfigError } from '../src/config/errors.js'
import { loadConfig } from '../src/config/load.js'

test('ORO_WEBSOCKET_BROKER_DSN forms', async (t) => {
  const cases: Array<[string, object]> = [
    ['memory://', { kind: 'memory' }],
    ['memory:', { kind: 'memory' }],
    ['redis://127.0.0.1', { kind: 'redis', tls: false, host: '127.0.0.1', port: 6379, db: 0 }],
    ['redis://redis.internal:6380/2', { kind: 'redis', host: 'redis.internal', port: 6380, db: 2 }],
    ['redis://:s3cret@h:6379/1', { kind: 'redis', password: 's3cret', db: 1 }],
    ['redis://gw:p%40ss%3Aword@h', { kind: 'redis', username: 'gw', password: 'p@ss:word' }],
    ['redis://onlypassword@h', { kind: 'redis', password: 'onlypassword' }],
    ['rediss://h:6380', { kind: 'redis', tls: true, port: 6380 }],
    ['REDIS://[::1]:7000/', { kind: 'redis', host: '::1', port: 7000, db: 0 }],
    ['redis-sentinel://s1:26379,s2,[fd00::3]:26380/mymaster', {
      kind: 'sentinel', name: 'mymaster', db: 0,
      sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }, { host: 'fd00::3', port: 26380 }]
    }],
    ['redis-sentinel://:pw@s1/mymaster/3?sentinel_password=sp&sentinel_username=su', { kind: 'sentinel', password: 'pw', db: 3, sentinelPassword: 'sp', sentinelUsername: 'su' }],
    ['rediss-sentinel://s1/m', { kind: 'sentinel', tls: true }],
    ['redis-cluster://n1:7000,n2:7001,n3', { kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }, { host: 'n3', port: 6379 }] }],
    ['rediss-cluster://u:p@n1:7000', { kind: 'cluster', tls: true, username: 'u', password: 'p' }]
  ]
  for (const [dsn, expected] of cases) t.match(parseBrokerDsn(dsn), expected, dsn)
  t.notOk('password' in parseBrokerDsn('redis://h'), 'no password unless given')
  t.equal(describeTarget(parseBrokerDsn('redis-sentinel://:pw@s1,s2/mymaster/1')), 'redis sentinel s1:26379,s2:26379 master mymaster db 1', 'descriptions never hold credentials')
})

test('bad DSNs: a ConfigError that says what to write and never shows a password', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['mysql://h', /scheme "mysql", expected memory, redis, rediss, redis-sentinel/],
    ['redis://h1,h2', /use redis-sentinel:\/\/ or redis-cluster:\/\//],
    ['redis://h/abc', /database "abc"/],
    ['redis://h/0/1', /the path is the database number/],
    ['redis://h:99999', /port 99999/],
    ['redis://', /has no host/],
    ['redis-sentinel://s1,s2', /names no master/],
    ['redis-cluster://n1/0', /Redis Cluster has only database 0/],
    ['redis://h?timeout=5', /unknown option "timeout"/],
    ['redis://:pa%zzss@h', /bad percent-encoding in the password/],
    ['redis://h x', /white space/],
    ['h:6379', /is not a URL/]
  ]
  for (const [dsn, message] of cases) {
    try {
      parseBrokerDsn(dsn)
      t.fail(`${dsn} should not parse`)
    } catch (err) {
      t.ok(err instanceof ConfigError, dsn)
      t.match((err as ConfigError).message, message, dsn)
      t.match((err as ConfigError).message, /^ORO_WEBSOCKET_BROKER_DSN = ".*"/)
    }
  }
  const secret = 'Sup3rS3cret'
  for (const dsn of [`redis://user:${secret}@h/abc`, `redis://${secret}@h/x`, `redis://u:${secret}@extra@h/x`, `redis-sentinel://:${secret}@s1?sentinel_password=${secret}`, `redis-sentinel://s1/m?sentinel_password=${secret}&bad=1`]) {
    try {
      parseBrokerDsn(dsn)
      t.fail(`${dsn} should not parse`)
    } catch (err) {
      t.notMatch((err as Error).message, secret, `no password in: ${(err as Error).message}`)
      t.match((err as Error).message, /\*\*\*/)
    }
  }
  t.equal(maskDsn('redis://gw:pw@h:6379/0'), 'redis://gw:***@h:6379/0')
  t.equal(maskDsn('redis://h:6379/0'), 'redis://h:6379/0')
})

test('the broker settings load from the environment', async (t) => {
  const load = (env: Record<string, string>): ReturnType<typeof loadConfig> => loadConfig({ env, cwd: process.cwd() })
  t.match(load({}).gateway.broker, { target: { kind: 'memory' }, redisPrefix: 'oro-ws:' }, 'defaults: one node in memory')
  t.match(load({ ORO_WEBSOCKET_BROKER_DSN: 'redis://:pw@10.0.0.5/1', ORO_WEBSOCKET_REDIS_PREFIX: 'shop1:' }).gateway.broker,
    { target: { kind: 'redis', host: '10.0.0.5', password: 'pw', db: 1 }, redisPrefix: 'shop1:' })
  t.throws(() => load({ ORO_WEBSOCKET_BROKER_DSN: 'redis://:hidden-pw@h/x' }), { message: /ORO_WEBSOCKET_BROKER_DSN.*database "x"/ })
  try {
    load({ ORO_WEBSOCKET_BROKER_DSN: 'redis://:hidden-pw@h/x' })
  } catch (err) {
    t.notMatch((err as Error).message, 'hidden-pw')
  }
})

test('the Redis wire format: a header line, then the payload as it came', async (t) => {
  const payload = '{"a": [1, 2],\n "b": "line\\nbreak"}'
  t.equal(encodePublication({ topic: 't', payload }), '\n' + payload, 'no exclude or eligible: an empty header')
  t.equal(encodePublication({ topic: 't', payload, exclude: [], eligible: null }), '\n' + payload)
  const encoded = encodePublication({ topic: 't', payload, exclude: ['s1'], eligible: ['s2', 's3'] })
  t.equal(encoded, '{"x":["s1"],"e":["s2","s3"]}\n' + payload)
  t.same(decodePublication('t', encoded), { topic: 't', payload, exclude: ['s1'], eligible: ['s2', 's3'] })
  t.same(decodePublication('t', '\n' + payload), { topic: 't', payload })
  t.equal(decodePublication('t', 'no header'), null, 'a foreign message is not a publication')
  t.equal(decodePublication('t', '{bad\n1'), null)
})
