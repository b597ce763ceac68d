// The listener's accept queue: a released Oro page retries 60 s after a restart's drop, so a whole
// office comes back in the same second. With Node's default backlog (511) 10,000 pages at once
// got 42 ECONNRESET in the storm bench (each page then waits another 120 s). The gateway asks for
// LISTEN_BACKLOG; the kernel caps it at net.core.somaxconn. `ss` shows a listening socket's queue
// limit in Send-Q.
import { test } from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { serviceOptions } from './helpers/services.js'
import { startGateway } from './helpers/spawn-gateway.js'
import { LISTEN_BACKLOG } from '../server.js'

const ss = ['/usr/bin/ss', '/bin/ss'].find((path) => existsSync(path))
const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'))

test('the WebSocket listener queues as many connections as the kernel allows, not 511', serviceOptions(ss !== undefined, 'ss', 'apt-get install iproute2'), async (t) => {
  const gateway = await startGateway({ args: ['--env=prod'], env: { ORO_SECRET: 'listen-backlog-secret' } }, t)
  const out = execFileSync(ss as string, ['-ltnH', `sport = :${gateway.port}`], { encoding: 'utf8' })
  const columns = out.trim().split(/\s+/) // State Recv-Q Send-Q Local Peer
  t.equal(columns[0], 'LISTEN', out)
  const queue = Number(columns[2])
  t.equal(queue, Math.min(LISTEN_BACKLOG, somaxconn), `Send-Q of the listening socket (somaxconn ${somaxconn})`)
  t.ok(queue > 511 || somaxconn <= 511, 'more than Node\'s default of 511 where the kernel allows it')
  await gateway.stop()
})
