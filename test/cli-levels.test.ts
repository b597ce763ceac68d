// Oro's log levels (oro-compat §8) on a real spawned gateway, for every flag combination.
import { test } from 'tap'
import { startGateway } from './helpers/spawn-gateway.js'

const PROD = { ORO_SECRET: 'test-secret', ORO_WEBSOCKET_PUBLISH_KEYS: 'test-key' }

test('-v, -vv, -vvv, -q and --env=dev give Oro\'s levels', async (t) => {
  // Lines known to appear: "listening" (notice) and "topic rule loaded" (info) at start; every
  // request but the probes' is logged at debug.
  const table: Array<[string[], { notice: boolean, info: boolean, debug: boolean }]> = [
    // The start and stop lines (notice) show at prod's default level too; nothing else at notice.
    [['--env=prod'], { notice: true, info: false, debug: false }],
    [['--env=prod', '-v'], { notice: true, info: false, debug: false }],
    [['--env=prod', '-vv'], { notice: true, info: true, debug: false }],
    [['--env=prod', '-vvv'], { notice: true, info: true, debug: true }],
    [['--env=prod', '-q'], { notice: false, info: false, debug: false }],
    [['--env=dev'], { notice: true, info: true, debug: false }],
    [['--env=dev', '-v'], { notice: true, info: true, debug: true }],
    [['--env=dev', '-q'], { notice: false, info: false, debug: false }]
  ]
  // The gateways run side by side: one after the other they took a minute on a busy machine.
  const runs = await Promise.all(table.map(async ([args]) => {
    const gw = await startGateway({ env: PROD, args }, t)
    await fetch(`${gw.url}/no-such-page`)
    await gw.stop()
    return gw
  }))
  for (const [i, [args, expected]] of table.entries()) {
    const gw = runs[i] as (typeof runs)[number]
    const levels = new Set(gw.logLines().map((l) => l.level))
    const got = { notice: levels.has('notice'), info: levels.has('info'), debug: levels.has('debug') }
    t.same(got, expected, args.join(' '))
    if (args.includes('-q')) t.notOk([...levels].some((l) => l !== 'error' && l !== 'fatal'), '-q: errors only')
    if (args.length === 1 && args[0] === '--env=prod') {
      const notices = gw.logLines().filter((l) => l.level === 'notice').map((l) => String(l.msg))
      t.match(notices, [/^oro-websocket-gateway listening on /, /^shutting down/, /^shutdown complete/], 'prod default: the start and stop lines only')
      t.equal(notices.length, 3)
    }
  }
})

