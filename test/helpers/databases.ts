// Real PostgreSQL and MariaDB for the auth tests: a fresh Oro user table per test (a unique
// schema in PostgreSQL, a unique table in MariaDB), dropped at teardown, and a TCP proxy that a
// test can cut and restore to play a database outage without touching the system's server.
// Without the database the tests skip; under CI=true they fail (see services.ts).
import { createServer, connect, type Server, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import mysql from 'mysql2/promise'
import { canConnect, serviceOptions } from './services.js'

export const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'

export interface TestUser { id: number, username: string, email: string, password: string, enabled: boolean }

// Password hashes look like Oro's (bcrypt); only their exact text matters to tickets.
export const USERS: TestUser[] = [
  { id: 7, username: 'alice', email: 'alice@example.com', password: '$2y$13$wCvOHs0qkPj7Kk2zv7mW8eB1Wl3k3D5a0mNQzXkRr0cKk6zvE8m2a', enabled: true },
  { id: 8, username: 'bob', email: 'bob@example.com', password: '$2y$13$Qm1C2Y8a7yE2FfQh0m7rMuy0bq4u1dQ5Zq7d5yYbKc3n1Jc9m1bGi', enabled: true },
  { id: 9, username: 'carol', email: 'carol@example.com', password: '$2y$13$Z9gk1m4o2Q7b0bTqYy1bUe6o6q2wq4y4V8v1M2S8d3pL1cR7b8dWe', enabled: false },
  { id: 10, username: 'dave', email: 'Dave.Smith@Example.com', password: '$2y$13$K2l9c8wQ1dE3fR4tY5uI6oP7aS8dF9gH0jK1lZ2xC3vB4nM5qW6eR', enabled: true },
  { id: 11, username: 'semi;colon', email: 'semi@example.com', password: '$2y$13$P0o9I8u7Y6t5R4e3W2q1AzSxDcFvGbHnJmKlQwErTyUiOpAsDfGhJ', enabled: true }
]

/** tap options for a test that needs PostgreSQL: skip here without it, fail under CI. */
export async function needsPostgres (): Promise<{ skip?: string }> {
  const url = new URL(PG_URL)
  return serviceOptions(await canConnect(Number(url.port || 5432), url.hostname), `PostgreSQL at ${url.host}`, 'apt-get install postgresql (or set TEST_PG_URL)')
}

/** tap options for a test that needs MySQL or MariaDB. */
export async function needsMysql (): Promise<{ skip?: string }> {
  const url = new URL(MYSQL_URL)
  return serviceOptions(await canConnect(Number(url.port || 3306), url.hostname), `MariaDB at ${url.host}`, 'apt-get install mariadb-server (or set TEST_MYSQL_URL)')
}

interface Teardown { teardown: (fn: () => unknown) => void }

export interface UserTable { url: string, table: string }

function uniqueName (prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`
}

/** A schema holding Oro's oro_user table with USERS; dropped at teardown. */
export async function createPgUsers (t: Teardown): Promise<UserTable> {
  const schema = uniqueName('gw_auth')
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    await client.query(`CREATE SCHEMA ${schema}`)
    await client.query(`CREATE TABLE ${schema}.oro_user (
      id integer PRIMARY KEY, username varchar(255) NOT NULL UNIQUE, email varchar(255) NOT NULL,
      password varchar(255) NOT NULL, enabled boolean NOT NULL DEFAULT true)`)
    for (const user of USERS) {
      await client.query(`INSERT INTO ${schema}.oro_user (id, username, email, password, enabled) VALUES ($1, $2, $3, $4, $5)`,
        [user.id, user.username, user.email, user.password, user.enabled])
    }
  } finally {
    await client.end()
  }
  t.teardown(async () => {
    const dropper = new pg.Client({ connectionString: PG_URL })
    await dropper.connect()
    await dropper.query(`DROP SCHEMA ${schema} CASCADE`)
    await dropper.end()
  })
  return { url: PG_URL, table: `${schema}.oro_user` }
}

/** A uniquely named copy of Oro's oro_user table with USERS (enabled as tinyint); dropped at teardown. */
export async function createMysqlUsers (t: Teardown): Promise<UserTable> {
  const table = uniqueName('oro_user')
  const connection = await mysql.createConnection(MYSQL_URL)
  try {
    await connection.query(`CREATE TABLE ${table} (
      id int PRIMARY KEY, username varchar(255) NOT NULL UNIQUE, email varchar(255) NOT NULL,
      password varchar(255) NOT NULL, enabled tinyint(1) NOT NULL DEFAULT 1)
      DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_unicode_ci`)
    for (const user of USERS) {
      await connection.query(`INSERT INTO ${table} (id, username, email, password, enabled) VALUES (?, ?, ?, ?, ?)`,
        [user.id, user.username, user.email, user.password, user.enabled ? 1 : 0])
    }
  } finally {
    await connection.end()
  }
  t.teardown(async () => {
    const dropper = await mysql.createConnection(MYSQL_URL)
    await dropper.query(`DROP TABLE ${table}`)
    await dropper.end()
  })
  return { url: MYSQL_URL, table }
}

/** A TCP relay to a database that can be cut (all connections dropped, port closed) and restored on the same port. */
export interface TcpProxy {
  readonly port: number
  /** Connections relayed since start. */
  readonly connections: number
  cut: () => Promise<void>
  restore: () => Promise<void>
  close: () => Promise<void>
}

export async function startTcpProxy (targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let connections = 0
  let server: Server | undefined
  let port = 0

  const listen = async (): Promise<void> => {
    const next = createServer((client) => {
      connections++
      const upstream = connect(targetPort, targetHost)
      for (const socket of [client, upstream]) {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
        socket.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject)
      next.listen(port, '127.0.0.1', () => resolve())
    })
    server = next
    const address = next.address()
    if (typeof address === 'object' && address !== null) port = address.port
  }

  const cut = async (): Promise<void> => {
    const current = server
    server = undefined
    for (const socket of sockets) socket.destroy()
    if (current !== undefined) await new Promise<void>((resolve) => current.close(() => resolve()))
  }

  await listen()
  return {
    get port () { return port },
    get connections () { return connections },
    cut,
    restore: listen,
    close: cut
  }
}
