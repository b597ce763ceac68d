// The README's supervisord block, run by a real supervisord: the gateway starts as www-data from
// an installation it can only read, answers /healthz, is restarted after kill -9, and
// `supervisorctl stop` ends it cleanly (exit status 0) with no process left behind.
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { waitForHealthz, freePort } from './helpers/spawn-gateway.js'
import { alive, appRootOwnedBy, installCopy, needsSupervisord, processesWith, processUid, programBlock, README_USER, startSupervisord, userId } from './helpers/supervisord.js'
import { until } from './helpers/database-roles.js'

test('the README\'s supervisord program: start, kill -9, restart, stop', { ...needsSupervisord(), timeout: 120_000 }, async (t) => {
  const port = await freePort()
  const { installDir, node } = installCopy(t)
  const appRoot = appRootOwnedBy(t, README_USER, {
    '.env-app': 'ORO_WEBSOCKET_SERVER_DSN=//0.0.0.0:8080\nORO_WEBSOCKET_FRONTEND_DSN=//*:8080/ws\nORO_WEBSOCKET_BACKEND_DSN=tcp://127.0.0.1:8080\n',
    '.env-app.local': `ORO_SECRET=ThisTokenIsNotSoSecretChangeIt\nORO_WEBSOCKET_SERVER_DSN=//127.0.0.1:${port}\nORO_WEBSOCKET_PUBLISH_KEYS=supervisord-test-key\n`
  })
  const supervisor = await startSupervisord(t, programBlock({ installDir, appRoot, node }))
  const health = `http://127.0.0.1:${port}/healthz`

  await waitForHealthz(health, 90_000)
  t.pass('the gateway answers /healthz')
  const first = supervisor.pid()
  t.ok(first > 0, `running with pid ${first}`)
  t.equal(processUid(first), userId(README_USER)?.uid, `as ${README_USER}`)
  // RUNNING once the program stayed up startsecs (1 s), which may be after /healthz answers.
  await until('supervisorctl status RUNNING', () => /RUNNING/.test(supervisor.ctl('status', 'oro_web_socket')))
  t.pass('supervisorctl status: RUNNING')

  // Its start line reached the program's log before it is killed (counted below).
  await until('the start line in the program\'s log', () => supervisor.programLog().includes('"msg":"oro-websocket-gateway listening on 127.0.0.1:'))
  process.kill(first, 'SIGKILL')
  await until('a new process after kill -9', () => { const pid = supervisor.pid(); return pid !== 0 && pid !== first })
  await waitForHealthz(health, 90_000)
  t.pass('restarted and answering after kill -9')
  t.notOk(alive(first), 'the killed process is gone')
  t.match(supervisor.log(), /exited: oro_web_socket \(terminated by SIGKILL; not expected\)/)
  const second = supervisor.pid()
  await until('supervisorctl status RUNNING again', () => /RUNNING/.test(supervisor.ctl('status', 'oro_web_socket')))

  t.match(supervisor.ctl('stop', 'oro_web_socket'), /oro_web_socket: stopped/)
  t.match(supervisor.log(), /stopped: oro_web_socket \(exit status 0\)/, 'supervisord logs exit status 0 for the stop')
  t.equal(supervisor.pid(), 0, 'supervisord has no process for it')
  t.notOk(alive(second), 'the stopped process is gone')
  t.same(processesWith(appRoot), [], 'no process of it is left behind')
  // The program's log is what the gateway wrote (not vacuous): both starts and the stop, as JSON at
  // notice. supervisord may write the last lines a moment after `stop` returns.
  await until('the stop line in the program\'s log', () => supervisor.programLog().includes('"msg":"shutdown complete"'))
  const output = supervisor.programLog()
  const starts = output.split('\n').filter((l) => /^\{"level":"notice".*"msg":"oro-websocket-gateway listening on 127\.0\.0\.1:/.test(l))
  t.equal(starts.length, 2, 'the start line (JSON, at notice) for the first process and the restarted one')
  t.notMatch(output, /EACCES/, 'no permission error in the program\'s output')
  t.notMatch(output, /"level":"(error|fatal)"/, 'no error in the program\'s log')
})

test('deploy/supervisord.conf runs the gateway the same way as the README\'s block', async (t) => {
  const deploy = readFileSync(new URL('../deploy/supervisord.conf', import.meta.url), 'utf8')
  const readme = programBlock({ installDir: '/opt/oro-websocket-gateway', appRoot: '/usr/share/nginx/html/oroapp', node: '/usr/bin/node' })
  const line = (text: string, key: string): string | undefined => text.split('\n').find((l) => l.startsWith(`${key}=`))
  t.equal(line(deploy, 'user'), line(readme, 'user'), 'the same user')
  t.equal(line(deploy, 'directory'), line(readme, 'directory'))
  t.equal(line(deploy, 'stopsignal'), line(readme, 'stopsignal'))
  t.equal(line(deploy, 'stopwaitsecs'), line(readme, 'stopwaitsecs'))
  const command = line(readme, 'command') ?? ''
  t.ok(command.startsWith('command=/usr/bin/node /opt/oro-websocket-gateway/dist/cli.js serve --env=prod'), 'the README runs node on the built CLI')
  t.ok(line(deploy, 'command')?.startsWith(command), 'deploy/ runs the same command, with its host and port')
  t.notMatch(`${line(deploy, 'command') ?? ''}\n${command}`, /npx/, 'no npx')
})
