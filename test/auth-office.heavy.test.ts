// Issue 17, the office: 1,500 back-office pages behind one address (an office NAT), all opened at
// once with fresh tickets, through a real nginx with Oro's `location /ws` block. Every page must
// connect on its first attempt: on released Oro a refused page waits a minute or more (oro-compat
// §6). Outcomes only: no timing is asserted, and ORO_WEBSOCKET_AUTH_MAX_WAIT is raised so that a
// machine slowed down by other work cannot turn the expected wait into a 503 (the bound itself is
// unit-tested in auth-admission.test.ts).
import { test } from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startApp } from './helpers/app.js'
import { rawUpgrade, type UpgradeAnswer } from './helpers/raw-upgrade.js'
import { makeTicket } from './helpers/tickets.js'
import { nginxBinary, nginxMain, oroWsLocation, spawnNginx } from './helpers/nginx.js'
import { freePort, serviceOptions } from './helpers/services.js'

const SECRET = 'office-secret'
const PAGES = 1500
// The office's one address, as nginx sees it and forwards it (X-Real-IP, X-Forwarded-For).
const OFFICE = '127.0.5.1'

test(`an office: ${PAGES} pages behind one address through nginx, fresh tickets, all connect with no refusal`, {
  ...serviceOptions(nginxBinary !== undefined, 'nginx', 'apt-get install nginx'),
  timeout: 290_000
}, async (t) => {
  const gw = await startApp(t, {
    ORO_SECRET: SECRET,
    // Loopback plays the browsers: only 127.0.0.1 (nginx's own hop) stays a backend network.
    ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32',
    ORO_WEBSOCKET_AUTH_MAX_WAIT: '3600'
  }, 'prod', 'warn')
  const dir = mkdtempSync(join(tmpdir(), 'gw-nginx-office-'))
  const nginxPort = await freePort()
  // Two connections per page (browser and upstream): room for all of them at once.
  writeFileSync(join(dir, 'nginx.conf'), nginxMain(dir, `
  server {
    listen 127.0.0.1:${nginxPort};
    server_name localhost;
${oroWsLocation(dir, `http://127.0.0.1:${gw.port}/`)}
  }`, 4 * PAGES))
  await spawnNginx(t, dir, nginxPort)

  // One ticket per page, as Oro's pages fetch them (made before the clock of the storm starts).
  const tickets = Array.from({ length: PAGES }, () => encodeURIComponent(makeTicket({ secret: SECRET })))
  const answers: UpgradeAnswer[] = await Promise.all(tickets.map(async (ticket) =>
    await rawUpgrade(nginxPort, `/ws?ticket=${ticket}`, { Origin: 'http://localhost' }, OFFICE)))
  t.teardown(() => { for (const answer of answers) answer.destroy() })

  const statuses: Record<number, number> = {}
  for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1
  t.same(statuses, { 101: PAGES }, `every page upgraded on its first attempt (${JSON.stringify(statuses)})`)
  const { admission, tickets: verified } = gw.app.authStats()
  t.same(admission.refused, { busy: 0, wait: 0, 'client-pending': 0, 'client-failures': 0, 'suspect-lane': 0, gone: 0, closed: 0 }, 'admission refused nothing')
  t.equal(verified?.digests, PAGES, 'one digest per page')
  // The office really was one network to the gateway (not nginx's 127.0.0.1).
  while (gw.app.sessions.size < PAGES) await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok([...gw.app.sessions].every((s) => s.address === OFFICE && !s.canPublish), 'every session is the office\'s, none a backend')
})
