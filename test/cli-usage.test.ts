// The operator's command line: usage mistakes (exit 2), every configuration problem at once,
// listen errors that say what they are, and the start line at the default prod level.
import { test } from 'tap'
import { cli, freePort, startGateway } from './helpers/spawn-gateway.js'

const PROD = { ORO_SECRET: 'test-secret' }

test('usage mistakes are GW_ERR_USAGE with exit 2, naming the flag; no arguments prints the help; -V the version', async (t) => {
  const none = await cli([])
  t.equal(none.code, 2, 'no arguments: non-zero')
  t.match(none.stderr, /^oro-websocket-gateway [^\n]*\n\nUsage: oro-websocket-gateway <command>/, 'the help, on stderr')
  t.equal((await cli(['help'])).code, 0)
  const cases: Array<[string[], RegExp]> = [
    [['bogus'], /^GW_ERR_USAGE: unknown command "bogus"/],
    [['serve', '--bogus'], /^GW_ERR_USAGE: unknown option --bogus/],
    [['serve', '-p'], /^GW_ERR_USAGE: option --port needs a value/],
    [['config', '--json=yes'], /^GW_ERR_USAGE: option --json takes no value/],
    [['serve', 'extra'], /^GW_ERR_USAGE: unexpected arguments: extra/],
    [['publish'], /^GW_ERR_USAGE: publish needs a TOPIC/],
    [['ticket', '--usr', 'x'], /^GW_ERR_USAGE: unknown option --usr/],
    [['ticket', 'extra'], /^GW_ERR_USAGE: unexpected arguments: extra; for example oro-websocket-gateway ticket --user admin/]
  ]
  for (const [args, line] of cases) {
    const result = await cli(args)
    t.equal(result.code, 2, `${args.join(' ')}: exit 2`)
    t.match(result.stderr, line)
    t.notMatch(result.stderr, /invalid configuration/, 'not a configuration problem')
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line')
  }
  const flag = await cli(['config', '--env=dev', '--shutdown-timeout', 'soon'])
  t.match(flag, { code: 1, stderr: /^GW_ERR_CONFIG_INVALID: invalid configuration: --shutdown-timeout = "soon" must be integer; for example --shutdown-timeout 10\n$/ }, 'a bad flag value names the flag')
  for (const v of ['-V', '--version']) {
    const version = await cli([v])
    t.match(version, { code: 0, stdout: /^\d+\.\d+\.\d+\n$/ }, v)
  }
})

test('serve and config report every problem at once, one line each, and config checks what serve checks', async (t) => {
  const env = { ORO_WEBSOCKET_SERVER_DSN: '//x:y', ORO_WEBSOCKET_SHUTDOWN_TIMEOUT: 'soon', ORO_WEBSOCKET_TOPICS: 'no-such-topics.yml', ORO_DB_URL: 'postgres://u:hunter2@h:54x/d' }
  for (const command of ['serve', 'config']) {
    const result = await cli([command], env)
    t.equal(result.code, 1, `${command}: exit 1`)
    const lines = result.stderr.trim().split('\n')
    t.match(lines, [
      /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_WEBSOCKET_SHUTDOWN_TIMEOUT = "soon"/,
      /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_WEBSOCKET_SERVER_DSN = "\/\/x:y"/,
      /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_SECRET is not set/,
      /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_DB_URL has a port "54x" that is not a number/,
      /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_WEBSOCKET_TOPICS no-such-topics\.yml cannot be read \(\/.*\/no-such-topics\.yml: ENOENT\)/
    ], `${command}: every problem`)
    t.equal(lines.length, 5, lines.join('\n'))
    t.notMatch(result.stderr, /hunter2/)
  }
  const dev = await cli(['config', '--env=dev'], {})
  t.equal(dev.code, 0, 'config --env=dev checks the dev requirements (no ORO_SECRET needed)')
})

test('listen errors that are not "port in use" say what they are', async (t) => {
  const unresolvable = await cli(['serve', '-q'], { ...PROD, ORO_WEBSOCKET_SERVER_DSN: `//gateway-host.invalid:${await freePort()}` })
  t.match(unresolvable, { code: 1, stderr: /^GW_ERR_LISTEN_FAILED: Cannot listen on gateway-host\.invalid:\d+: the host name gateway-host\.invalid cannot be resolved \((ENOTFOUND|EAI_AGAIN)\)/ })
  t.notMatch(unresolvable.stderr, /in use|free the port/)
  // 192.0.2.1 (TEST-NET-1) is never an address of this machine.
  const foreign = await cli(['serve', '-q'], { ...PROD, ORO_WEBSOCKET_SERVER_DSN: `//192.0.2.1:${await freePort()}` })
  t.match(foreign, { code: 1, stderr: /^GW_ERR_LISTEN_FAILED: Cannot listen on 192\.0\.2\.1:\d+: 192\.0\.2\.1 is not an address of this machine \(EADDRNOTAVAIL\)/ })
  const busy = await startGateway({ env: PROD, args: ['-q'] }, t)
  const inUse = await cli(['serve', '-q'], { ...PROD, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${busy.port}` })
  t.match(inUse, { code: 1, stderr: new RegExp(`port ${busy.port} is already in use \\(EADDRINUSE\\)`) })
})

test('the start line at the default prod level: where it listens, who may publish, broker, database (masked)', async (t) => {
  const gw = await startGateway({ env: { ORO_SECRET: 's', ORO_DB_URL: 'postgres://oro:start-line-pw@127.0.0.1:1/oro', ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.0/8,10.0.5.0/24' } }, t)
  const plain = await fetch(`${gw.url}/ws`)
  t.equal(plain.status, 426)
  t.match(await plain.json(), { code: 'GW_ERR_UPGRADE_REQUIRED', message: new RegExp(`e\\.g\\. ws://<host>:${gw.port}/ws$`) }, 'the 426 names the real listen port')
  await gw.stop()
  const start = gw.logLines().find((l) => String(l.msg).startsWith('oro-websocket-gateway listening'))
  t.match(start, {
    level: 'notice',
    listen: `127.0.0.1:${gw.port}`,
    backendNetworks: '127.0.0.0/8,10.0.5.0/24',
    publishEnabled: false,
    broker: 'memory://',
    database: 'postgres://oro:***@127.0.0.1:1/oro',
    msg: /WAMP publishers: direct connections from 127\.0\.0\.0\/8,10\.0\.5\.0\/24 .*POST \/publish disabled.*broker memory:\/\/; database postgres:\/\/oro:\*\*\*@127\.0\.0\.1:1\/oro/
  })
  t.notMatch(gw.stdout() + gw.stderr(), /start-line-pw/)
  t.ok(gw.logLines().some((l) => l.msg === 'shutdown complete'), 'the stop line too')
})
