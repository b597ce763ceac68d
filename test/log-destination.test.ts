// Logging never stops the gateway (issue 18): with stdout on a full disk it keeps serving, drops
// the log lines (counted), says so once on stderr and still shuts down on SIGTERM.
import { test } from 'tap'
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogDestination } from '../src/log-destination.js'
import { prettyInstalled } from '../src/logger.js'
import { cliPath, freePort, waitForHealthz } from './helpers/spawn-gateway.js'

test('serve with stdout on /dev/full answers /healthz, counts the dropped lines and exits 0 on SIGTERM', async (t) => {
  const port = await freePort()
  const full = openSync('/dev/full', 'w')
  t.teardown(() => { closeSync(full) })
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith('ORO_')) env[name] = value
  env.ORO_WEBSOCKET_SERVER_DSN = `//127.0.0.1:${port}`
  const child = spawn(process.execPath, [cliPath, 'serve', '--env=dev', '-vvv'], { env, stdio: ['ignore', full, 'pipe'] })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<number | null>((resolve) => { child.once('close', (code) => resolve(code)) })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })

  await waitForHealthz(`http://127.0.0.1:${port}/healthz`, 60_000, exited)
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const dropped = Number(/^oro_ws_log_lines_dropped_total (\d+)/m.exec(metrics)?.[1] ?? 'NaN')
  t.ok(dropped > 0, `log lines dropped and counted (${dropped})`)
  t.match(stderr, /GW_ERR_LOG_WRITE_FAILED: log lines cannot be written to stdout \(ENOSPC\)/, 'one clear line on stderr')
  t.equal(stderr.match(/GW_ERR_LOG_WRITE_FAILED/g)?.length, 1, 'once per outage, not per line')
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM still shuts it down cleanly')
})

test('a destination that fails drops lines, calls flush back, and writes again once the fd works', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'h18-logdest-'))
  const full = openSync('/dev/full', 'w')
  t.teardown(() => { closeSync(full) })
  const broken: string[] = []
  const failing = new LogDestination({ fd: full, retryMs: 60_000, onBroken: (err) => { broken.push(String(err.code)) } })
  failing.write('one\n')
  failing.write('two\n')
  await new Promise<void>((resolve) => { failing.flush(() => resolve()) })
  failing.write('three\n') // dropped at once: stdout is broken until the retry
  await new Promise<void>((resolve) => { failing.flush(() => resolve()) })
  t.equal(failing.dropped, 3, 'counted by the destination itself')
  t.same(broken, ['ENOSPC'], 'reported once')

  const file = join(dir, 'log')
  const fd = openSync(file, 'w')
  t.teardown(() => { closeSync(fd) })
  const working = new LogDestination({ fd })
  for (let i = 0; i < 1000; i++) working.write(`line ${i}\n`)
  await new Promise<void>((resolve) => { working.flush(() => resolve()) })
  const lines = readFileSync(file, 'utf8').split('\n')
  t.equal(lines.length, 1001)
  t.equal(lines[999], 'line 999')
})

test('pino-pretty is optional: without it the logger writes JSON', async (t) => {
  t.equal(prettyInstalled(), true, 'installed here (a development dependency)')
  t.equal(prettyInstalled(() => { throw new Error('Cannot find module') }), false)
})

test('the bound on lines waiting is in bytes, not characters', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logdest-bytes-'))
  const fd = openSync(join(dir, 'log'), 'w')
  t.teardown(() => { closeSync(fd) })
  const destination = new LogDestination({ fd, maxBufferedBytes: 10 })
  destination.write('first\n') // handed to the write under way
  destination.write('ééééé\n') // waits: 6 characters, 11 bytes, over the 10-byte bound
  destination.write('abcde\n') // waits: 6 bytes, within it
  await new Promise<void>((resolve) => { destination.flush(() => resolve()) })
  t.equal(destination.dropped, 1, 'the line over the bound in bytes is dropped')
  t.equal(readFileSync(join(dir, 'log'), 'utf8'), 'first\nabcde\n')
})
