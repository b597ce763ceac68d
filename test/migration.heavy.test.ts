// Moving an Oro application to the gateway, step by step as the README's checklist says ("Moving
// an Oro application to the gateway"), against a fake Oro install: .env-app files as Oro ships
// and an operator overrides them, a PostgreSQL database with Oro's tables, nginx with Oro's /ws
// block, supervisord with the README's block. Then checked as Oro's users see it: a browser on
// the site's origin, through nginx, with a user's ticket, gets what Oro's PHP backend publishes
// from another network.
import { test } from 'tap'
import { execFileSync } from 'node:child_process'
import { connectWamp } from './helpers/wamp-client.js'
import { connectPhpBackend } from './helpers/php-backend-client.js'
import { makeTicket } from './helpers/tickets.js'
import { needsPostgres, USERS } from './helpers/databases.js'
import { createOroDatabase } from './helpers/oro-database.js'
import { nginxBinary, startNginx } from './helpers/nginx.js'
import { freePort, serviceOptions } from './helpers/services.js'
import { waitForHealthz } from './helpers/spawn-gateway.js'
import { until } from './helpers/database-roles.js'
import { alive, appRootOwnedBy, installCopy, needsSupervisord, programBlock, README_USER, startSupervisord } from './helpers/supervisord.js'

const postgres = await needsPostgres()
const nginx = serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx')
const supervisord = needsSupervisord()
const skip = postgres.skip ?? nginx.skip ?? supervisord.skip

const SECRET = 'b4c1b5e9d0f34f0c9a2e7d3c6f18a05e'
const SITE = 'https://shop.example.test'
const BACKEND_NETWORK = '127.0.5.0/24'
const BACKEND_ADDRESS = '127.0.5.9'
// What Oro's documentation (shared/seeds) has supervisord run; sleep stands in for PHP here.
const OLD_PROGRAM = `[program:oro_web_socket]
command=/bin/sleep 3600
numprocs=1
autostart=true
autorestart=true
directory=APP_ROOT
user=www-data
redirect_stderr=true
`
const alice = USERS[0] as { id: number, username: string, password: string }

/** A command as the program's user, with a clean environment (as `sudo -u www-data` gives). */
function asProgramUser (args: string[]): { code: number, output: string } {
  try {
    const output = execFileSync('env', ['-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'runuser', '-u', README_USER, '--', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return { code: 0, output }
  } catch (error) {
    const e = error as { status?: number, stdout?: string, stderr?: string }
    return { code: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }
  }
}

test('the README\'s migration checklist, step by step', { ...(skip !== undefined ? { skip } : {}), timeout: 180_000 }, async (t) => {
  // 1. Install the gateway (a copy of this build, readable by the program's user, as /opt is).
  const { installDir, node } = installCopy(t)
  const cli = `${installDir}/dist/cli.js`

  // 2. and 3. The application as Oro ships it (.env-app) and as the operator configured it
  // (.env-app.local: the DSNs, the secret and the database).
  const database = await createOroDatabase(t, { applicationUrl: `${SITE}/`, otherScopeUrl: 'https://evil.example.test' })
  const port = await freePort()
  const appRoot = appRootOwnedBy(t, README_USER, {
    '.env-app': [
      'ORO_ENV=prod',
      'ORO_SECRET=ThisTokenIsNotSoSecretChangeIt',
      'ORO_DB_URL=postgres://root@127.0.0.1/b2b_crm_dev',
      'ORO_DB_DSN=${ORO_DB_URL}',
      'ORO_MAILER_DSN=native://default',
      'ORO_SEARCH_URL=orm:',
      'ORO_MQ_DSN=dbal:',
      'ORO_SESSION_DSN=native:',
      'ORO_WEBSOCKET_SERVER_DSN=//0.0.0.0:8080',
      'ORO_WEBSOCKET_FRONTEND_DSN=//*:8080/ws',
      'ORO_WEBSOCKET_BACKEND_DSN=tcp://127.0.0.1:8080',
      ''
    ].join('\n'),
    '.env-app.local': [
      `ORO_SECRET=${SECRET}`,
      `ORO_DB_URL=${database.url}`,
      `ORO_WEBSOCKET_SERVER_DSN=//127.0.0.1:${port}`,
      'ORO_WEBSOCKET_FRONTEND_DSN=//*:443/ws',
      `ORO_WEBSOCKET_BACKEND_DSN=tcp://127.0.0.1:${port}`,
      ''
    ].join('\n')
  })
  const check = asProgramUser([node, cli, 'config', '--check', '--env=prod', `--app-root=${appRoot}`])
  t.equal(check.code, 0, `3. config --check passes as ${README_USER}:\n${check.output}`)
  t.notOk(check.output.includes(new URL(database.url).password || '\u0000'), 'no password printed')

  // 4. Allowed origins: nothing to set, they come from Oro's application URL.
  // 5. Backend networks: the PHP backend's network, in the program's environment (it replaces the
  // default, so loopback's 127.0.0.1 is no backend here: that is checked below).
  // 6. Publish keys: none.
  // 7. nginx: Oro's /ws block and the guard.
  const nginxPort = await startNginx(t, port, 'is_args', true)

  // 8. supervisord: Oro's program block (a stand-in for `php bin/console gos:websocket:server`)
  // replaced by the README's, then reread and update.
  const supervisor = await startSupervisord(t, OLD_PROGRAM.replace('APP_ROOT', appRoot))
  await until('the old program running', () => supervisor.pid() !== 0)
  const old = supervisor.pid()
  supervisor.setProgram(programBlock({ installDir, appRoot, node, environment: { ORO_WEBSOCKET_BACKEND_NETWORKS: BACKEND_NETWORK } }))
  t.match(supervisor.ctl('reread'), /oro_web_socket: changed/, '8. supervisorctl reread sees the new block')
  t.match(supervisor.ctl('update'), /oro_web_socket: (stopped|updated)/, '8. supervisorctl update replaces the program')
  t.notOk(alive(old), 'the old server is gone')
  const gateway = `http://127.0.0.1:${port}`
  await waitForHealthz(`${gateway}/healthz`, 90_000)

  // 9. Check it works.
  // RUNNING once it stayed up startsecs (1 s).
  await until('supervisorctl status RUNNING', () => /RUNNING/.test(supervisor.ctl('status', 'oro_web_socket')))
  t.pass('9. supervisorctl status: RUNNING')
  let ready: { status: number, body: { checks?: Record<string, string> } } = { status: 0, body: {} }
  await until('/readyz 200', async () => {
    const res = await fetch(`${gateway}/readyz`)
    ready = { status: res.status, body: await res.json() as { checks?: Record<string, string> } }
    return ready.status === 200 || (ready.body.checks?.database ?? 'checking') !== 'checking'
  })
  t.equal(ready.status, 200, `/readyz: ${JSON.stringify(ready.body)}`)
  t.equal(ready.body.checks?.database, 'ok', 'the database is checked')

  const publish = await fetch(`${gateway}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"topic":"oro/data/update","data":[]}' })
  t.match(await publish.json(), { code: 'GW_ERR_PUBLISH_DISABLED' }, '6. without keys, POST /publish is disabled, and says so')
  t.equal((await fetch(`http://127.0.0.1:${nginxPort}/wspublish`)).status, 404, '7. only /ws itself reaches the gateway')

  const ticket = makeTicket({ secret: SECRET, username: alice.username, password: alice.password })
  const browser = await connectWamp(`ws://127.0.0.1:${nginxPort}/ws?ticket=${encodeURIComponent(ticket)}`, { headers: { Origin: SITE } })
  t.teardown(() => { browser.close() })
  t.pass('a browser on the site\'s origin connects through nginx with alice\'s ticket')
  const own = `oro/email_event/${alice.id}/1`
  browser.subscribe(own)
  browser.subscribe('oro/data/update')

  const evil = await connectWamp(`ws://127.0.0.1:${nginxPort}/ws?ticket=${encodeURIComponent(ticket)}`, { headers: { Origin: 'https://evil.example.test' } })
    .then((c) => { c.close(); return undefined }, (e: { statusCode?: number }) => e)
  t.equal(evil?.statusCode, 403, 'an application URL of another scope (a user\'s) is no allowed origin')

  const backendTicket = makeTicket({ secret: SECRET })
  const local = await connectPhpBackend(port, { ticket: backendTicket })
  local.publish(own, { hasNewEmail: false })
  const backend = await connectPhpBackend(port, { ticket: backendTicket, localAddress: BACKEND_ADDRESS })
  backend.publish(own, { hasNewEmail: true })
  backend.publish('oro/data/update', [{ username: null, tagname: 'Oro_Bundle_UserBundle_Entity_User_1' }])
  t.teardown(() => { local.close(); backend.close() })
  t.same(await browser.waitForEvents(1, own, 20_000), [{ hasNewEmail: true }], '5. the backend on its network reaches alice\'s private topic; 127.0.0.1 is no backend here')
  t.same(await browser.waitForEvents(1, 'oro/data/update', 20_000), [[{ username: null, tagname: 'Oro_Bundle_UserBundle_Entity_User_1' }]])
  await until('the refused publish in the log', () => supervisor.programLog().includes('ORO_WEBSOCKET_BACKEND_NETWORKS'))
  t.pass('the refused publish from 127.0.0.1 is logged with the setting to change')
  t.same(browser.events(own), [{ hasNewEmail: true }], 'and was not delivered')

  // The refused publish from 127.0.0.1 is the first from that address: logged at error (a backend
  // left outside the networks loses every publish); nothing else is.
  const refusedLines = supervisor.programLog().split('\n').filter((l) => l.includes('"reason":"not-backend"'))
  t.match(refusedLines[0], /"level":"error".*"address":"127\.0\.0\.1".*"first":true/, 'the first refused publish from an address at error')
  t.notMatch(supervisor.programLog().split('\n').filter((l) => !l.includes('"reason":"not-backend"')).join('\n'), /"level":"(error|fatal)"/, 'no other error line in the log')
  t.match(supervisor.ctl('stop', 'oro_web_socket'), /stopped/)
  t.match(supervisor.log(), /stopped: oro_web_socket \(exit status 0\)/, 'stopped with exit status 0')
})
