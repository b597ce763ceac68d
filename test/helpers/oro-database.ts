// A PostgreSQL database that looks like an Oro application's: its own database (as ORO_DB_URL
// names it), Oro's user table and system configuration tables with realistic rows (the global
// application URL, a value of another scope that must be ignored). Dropped at teardown.
import pg from 'pg'
import { PG_URL, USERS } from './databases.js'
import { uniqueName } from './database-roles.js'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface OroDatabase {
  /** ORO_DB_URL as Oro writes it (Doctrine style, with serverVersion and charset). */
  url: string
  name: string
}

export async function createOroDatabase (t: Teardown, settings: { applicationUrl: string, otherScopeUrl: string }): Promise<OroDatabase> {
  const name = uniqueName('gw_oro')
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  })
  const url = new URL(PG_URL)
  url.pathname = `/${name}`
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  try {
    // The columns Oro's migrations create that matter here, plus a few that do not.
    await client.query(`CREATE TABLE oro_user (
      id serial PRIMARY KEY, business_unit_owner_id integer, organization_id integer,
      username varchar(255) NOT NULL UNIQUE, email varchar(255) NOT NULL, first_name varchar(255),
      last_name varchar(255), enabled boolean NOT NULL, salt varchar(255), password varchar(255) NOT NULL,
      last_login timestamp(0), login_count integer NOT NULL DEFAULT 0,
      createdat timestamp(0) NOT NULL DEFAULT now(), updatedat timestamp(0) NOT NULL DEFAULT now())`)
    await client.query(`CREATE TABLE oro_config (
      id serial PRIMARY KEY, entity varchar(255), record_id integer NOT NULL,
      CONSTRAINT ux_oro_config_entity UNIQUE (entity, record_id))`)
    await client.query(`CREATE TABLE oro_config_value (
      id serial PRIMARY KEY, config_id integer REFERENCES oro_config (id), name varchar(255) NOT NULL,
      section varchar(50), text_value text, object_value text, array_value text, type varchar(20) NOT NULL,
      created_at timestamp(0) NOT NULL DEFAULT now(), updated_at timestamp(0))`)
    for (const user of USERS) {
      await client.query('INSERT INTO oro_user (id, organization_id, username, email, enabled, salt, password) VALUES ($1, 1, $2, $3, $4, $5, $6)',
        [user.id, user.username, user.email, user.enabled, '', user.password])
    }
    const app = await client.query<{ id: number }>('INSERT INTO oro_config (entity, record_id) VALUES ($1, $2) RETURNING id', ['app', 0])
    const userScope = await client.query<{ id: number }>('INSERT INTO oro_config (entity, record_id) VALUES ($1, $2) RETURNING id', ['user', 7])
    const value = 'INSERT INTO oro_config_value (config_id, name, section, text_value, object_value, array_value, type) VALUES ($1, $2, $3, $4, NULL, NULL, $5)'
    await client.query(value, [app.rows[0]?.id, 'application_url', 'oro_ui', settings.applicationUrl, 'scalar'])
    await client.query(value, [app.rows[0]?.id, 'application_name', 'oro_ui', 'ORO', 'scalar'])
    await client.query(value, [userScope.rows[0]?.id, 'application_url', 'oro_ui', settings.otherScopeUrl, 'scalar'])
  } finally {
    await client.end()
  }
  url.search = '?sslmode=disable&charset=utf8&serverVersion=15'
  return { url: url.toString(), name }
}
