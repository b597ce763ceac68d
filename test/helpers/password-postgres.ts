// A PostgreSQL server of the test's own that checks passwords (scram-sha-256), for what the shared
// test server cannot show: it trusts loopback, so a wrong password is never refused there
// (database-roles.ts plays a refused login with NOLOGIN instead). initdb into a temporary
// directory, started on a free port with its socket in that directory, stopped and removed at
// teardown. As root (CI) it runs as the `postgres` user, as PostgreSQL requires.
import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { freePort, serviceOptions } from './services.js'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface PasswordPostgres {
  port: number
  /** The superuser's URL (postgres, with its password). */
  adminUrl: (database?: string) => string
  url: (user: string, password: string, database: string) => string
}

const ADMIN_PASSWORD = 'pw-admin-of-the-test-server'

/** The newest PostgreSQL's bin directory (Debian: /usr/lib/postgresql/N/bin), or undefined. */
function postgresBin (): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
  for (const version of versions) {
    const bin = join(root, version, 'bin')
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin
  }
  return undefined
}

const bin = postgresBin()
const asRoot = userInfo().uid === 0

/** tap options: skip here without PostgreSQL's server programs, fail under CI. */
export function needsPasswordPostgres (): { skip?: string } {
  return serviceOptions(bin !== undefined && (!asRoot || existsSync('/usr/sbin/runuser')), 'PostgreSQL server programs (initdb, pg_ctl)', 'apt-get install postgresql')
}

async function run (program: string, args: string[]): Promise<void> {
  const [file, argv] = asRoot ? ['/usr/sbin/runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args]
  await new Promise<void>((resolve, reject) => {
    execFile(file, argv, { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error === null) resolve()
      else reject(new Error(`${program} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`))
    })
  })
}

export async function startPasswordPostgres (t: Teardown): Promise<PasswordPostgres> {
  if (bin === undefined) throw new Error('no PostgreSQL server programs')
  const dir = mkdtempSync(join(tmpdir(), 'gw-pgpw-'))
  const data = join(dir, 'data')
  const pwfile = join(dir, 'pw')
  writeFileSync(pwfile, ADMIN_PASSWORD + '\n')
  if (asRoot) {
    const { uid, gid } = await postgresIds()
    chownSync(dir, uid, gid)
    chownSync(pwfile, uid, gid)
  }
  const port = await freePort()
  let started = false
  t.teardown(async () => {
    if (started) await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync'])
  await run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '120', '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB -c max_connections=40`, 'start'])
  started = true
  const url = (user: string, password: string, database: string): string =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`
  return { port, url, adminUrl: (database = 'postgres') => url('postgres', ADMIN_PASSWORD, database) }
}

async function postgresIds (): Promise<{ uid: number, gid: number }> {
  const text = await new Promise<string>((resolve, reject) => {
    execFile('id', ['postgres'], (error, stdout) => { if (error === null) resolve(stdout); else reject(error) })
  })
  const uid = Number(/uid=(\d+)/.exec(text)?.[1])
  const gid = Number(/gid=(\d+)/.exec(text)?.[1])
  return { uid, gid }
}
