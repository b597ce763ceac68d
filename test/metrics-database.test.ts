// oro_ws_database_up with Oro's database (ORO_DB_URL): exported, and 1 while /readyz says the
// database is ok. (When /readyz turns it down is test/auth-database-readiness.test.ts's subject.)
import { test } from 'tap'
import { startApp } from './helpers/app.js'
import { createPgUsers, needsPostgres } from './helpers/databases.js'
import { until } from './helpers/database-roles.js'
import { parseSamples, total } from './helpers/prometheus.js'

const postgres = await needsPostgres()

test('oro_ws_database_up is exported with a database and is 1 while it answers', postgres, async (t) => {
  const { url, table } = await createPgUsers(t)
  const gw = await startApp(t, { ORO_SECRET: 's', ORO_DB_URL: url, ORO_WEBSOCKET_USER_TABLE: table }, 'dev', 'error')
  const databaseUp = async (): Promise<number> => total(parseSamples(await (await fetch(`${gw.url}/metrics`)).text()), 'oro_ws_database_up', 'gauge')
  const readyz = async (): Promise<string | undefined> => ((await (await fetch(`${gw.url}/readyz`)).json()) as { checks: Record<string, string> }).checks.database
  await until('the database answers', async () => (await readyz()) === 'ok')
  t.equal(await databaseUp(), 1, 'up while it answers')
})
