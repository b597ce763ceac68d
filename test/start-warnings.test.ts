// What `serve` warns about at start (issue 16, "Also"): Oro's backend pointed at a host that is not
// loopback while ORO_WEBSOCKET_BACKEND_NETWORKS only allows loopback (its publishes would all be
// refused), and a Node.js not supported: below package.json's engines, odd, or newer than tested
// (a warning, never a refusal to start).
import { test } from 'tap'
import { startGateway } from './helpers/spawn-gateway.js'
import { loadConfig } from '../src/config/load.js'
import { backendNetworkWarning, nodeVersionWarning } from '../src/start-warnings.js'
import { readFileSync } from 'node:fs'
import { nodeEngine, SUPPORTED_NODE_MAJORS } from '../src/version.js'

const PROD = { ORO_SECRET: 'start-warnings-secret' }

test('a BACKEND DSN host that is not loopback with loopback-only backend networks: a warning naming the setting', async (t) => {
  const gw = await startGateway({ env: { ...PROD, ORO_WEBSOCKET_BACKEND_DSN: 'tcp://websocket-gateway:8080' }, args: ['--env=prod'] }, t)
  await gw.stop()
  const warning = gw.logLines().find((l) => l.setting === 'ORO_WEBSOCKET_BACKEND_NETWORKS')
  t.match(warning, { level: 'warn', backendHost: 'websocket-gateway', backendNetworks: '127.0.0.0/8,::1/128' })
  t.match(warning?.msg, /^ORO_WEBSOCKET_BACKEND_DSN points Oro's backend at websocket-gateway, not at loopback, but ORO_WEBSOCKET_BACKEND_NETWORKS is 127\.0\.0\.0\/8,::1\/128: .*publishes are lost; add its network/)

  const warns = (env: Record<string, string>): boolean => backendNetworkWarning(loadConfig({ env, cwd: process.cwd() })) !== undefined
  t.notOk(warns({}), 'the default BACKEND DSN (127.0.0.1): nothing to say')
  t.notOk(warns({ ORO_WEBSOCKET_BACKEND_DSN: 'tcp://localhost:8080' }))
  t.notOk(warns({ ORO_WEBSOCKET_BACKEND_DSN: 'tcp://*:8080' }), '* is 127.0.0.1')
  t.notOk(warns({ ORO_WEBSOCKET_BACKEND_DSN: 'tcp://[::1]:8080' }))
  t.ok(warns({ ORO_WEBSOCKET_BACKEND_DSN: 'ssl://shop.example.com:443/ws' }), 'through the site\'s nginx: the backend arrives from the host\'s own address')
  t.ok(warns({ ORO_WEBSOCKET_BACKEND_DSN: 'tcp://10.0.5.4:8080', ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32' }), 'a loopback list set by hand is the same')
  t.notOk(warns({ ORO_WEBSOCKET_BACKEND_DSN: 'tcp://websocket-gateway:8080', ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.0/8,::1/128,10.0.5.0/24' }), 'the backend\'s network added')
  t.notOk(warns({ ORO_WEBSOCKET_BACKEND_DSN: 'tcp://10.0.5.4:8080', ORO_WEBSOCKET_BACKEND_NETWORKS: '10.0.5.0/24' }), 'an address inside the networks')
  t.ok(warns({ ORO_WEBSOCKET_BACKEND_DSN: 'tcp://10.0.6.4:8080', ORO_WEBSOCKET_BACKEND_NETWORKS: '10.0.5.0/24' }), 'an address outside them')
})

test('Node.js below package.json\'s engines, odd (never LTS) or newer than tested: a warning at start, never a failure', async (t) => {
  t.equal(nodeEngine, '>=22', 'package.json engines')
  t.same(SUPPORTED_NODE_MAJORS, [22, 24], 'the LTS lines supported')
  const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')
  t.same([...ci.matchAll(/\$\(install_node (\d+)\)/g)].map((m) => Number(m[1])), SUPPORTED_NODE_MAJORS, 'exactly those are what CI tests')
  t.match(nodeVersionWarning('20.20.2', '>=22'), { fields: { node: '20.20.2', engines: '>=22' }, msg: /^Node\.js 20\.20\.2 is not supported .*install Node\.js 22 or 24/ })
  for (const v of ['23.11.1', '25.0.0', 'v25.2.1']) {
    t.match(nodeVersionWarning(v, '>=22'), { msg: /is not supported: an odd-numbered release, never LTS.*install Node\.js 22 or 24/ }, `${v}: odd`)
  }
  t.match(nodeVersionWarning('26.1.0', '>=22'), { msg: /^Node\.js 26\.1\.0 is newer than the versions tested \(22, 24\)/ }, 'a newer even major: untested, said so')
  for (const v of ['22.0.0', 'v22.12.0', '24.3.1']) t.equal(nodeVersionWarning(v, '>=22'), undefined, v)

  // The machine's own Node.js: the line is there exactly when it is not supported, and serve runs anyway.
  const gw = await startGateway({ env: PROD, args: ['--env=prod'] }, t)
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'it serves')
  const exit = await gw.stop()
  t.equal(exit.code, 0)
  const unsupported = !SUPPORTED_NODE_MAJORS.includes(Number(process.versions.node.split('.')[0]))
  const line = gw.logLines().find((l) => typeof l.msg === 'string' && l.msg.startsWith(`Node.js ${process.versions.node} is`))
  t.equal(line !== undefined, unsupported, `Node.js ${process.versions.node}: ${unsupported ? 'warned' : 'nothing said'}`)
  if (line !== undefined) t.equal(line.level, 'warn')
})
