// A real supervisord (Debian package `supervisor`) running the program block of the README, as
// an operator would: the gateway installed in a directory the program's user can read, the Oro
// application root owned by that user, supervisord as root switching to `user=`. The block is
// taken from README.md so the README cannot drift from what is tested.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findBinary, inCI } from './services.js'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const supervisordBinary = findBinary('supervisord')
export const supervisorctlBinary = findBinary('supervisorctl')

/** The paths the README's block uses, replaced by the test's own. */
export const README_INSTALL_DIR = '/opt/oro-websocket-gateway'
export const README_APP_ROOT = '/usr/share/nginx/html/oroapp'
export const README_NODE = '/usr/bin/node'
export const README_USER = 'www-data'

/** tap options: skip without supervisord or root (fail under CI, where .ci/run provides both). */
export function needsSupervisord (): { skip?: string } {
  let reason: string | undefined
  if (supervisordBinary === undefined || supervisorctlBinary === undefined) reason = 'supervisord is not available here; install it with: apt-get install supervisor'
  else if (process.getuid?.() !== 0) reason = 'supervisord must run as root to switch to user=www-data (run the test as root)'
  else if (userId(README_USER) === undefined) reason = `the user ${README_USER} does not exist here`
  if (reason === undefined) return {}
  if (inCI) throw new Error(`CI=true but ${reason}`)
  return { skip: reason }
}

export function userId (name: string): { uid: number, gid: number } | undefined {
  try {
    return { uid: Number(execFileSync('id', ['-u', name]).toString()), gid: Number(execFileSync('id', ['-g', name]).toString()) }
  } catch {
    return undefined
  }
}

/** The ```ini block of README.md that holds [program:oro_web_socket]. */
export function readmeProgramBlock (): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/```ini\n([\s\S]*?)```/g)].map((m) => m[1] as string)
  const block = blocks.find((b) => b.includes('[program:oro_web_socket]'))
  if (block === undefined) throw new Error('README.md has no ```ini block with [program:oro_web_socket]')
  return block
}

export interface Substitutions { installDir: string, appRoot: string, node: string, environment?: Record<string, string> }

/** The README's block with the test's paths; throws when the block no longer holds what is replaced. */
export function programBlock (s: Substitutions): string {
  let block = readmeProgramBlock()
  for (const expected of [README_INSTALL_DIR, README_APP_ROOT, README_NODE, `user=${README_USER}`]) {
    if (!block.includes(expected)) throw new Error(`the README's supervisord block no longer holds ${expected}`)
  }
  block = block.split(README_INSTALL_DIR).join(s.installDir).split(README_APP_ROOT).join(s.appRoot)
  block = block.replace(`command=${README_NODE} `, `command=${s.node} `)
  if (s.environment !== undefined) {
    const line = `environment=${Object.entries(s.environment).map(([k, v]) => `${k}="${v}"`).join(',')}`
    if (!/^environment=.*$/m.test(block)) throw new Error('the README\'s supervisord block has no environment= line')
    block = block.replace(/^environment=.*$/m, line)
  }
  return block
}

/** A directory everyone may traverse (mkdtemp makes them 0700). */
export function openTempDir (prefix: string, t?: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(dir, 0o755)
  t?.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

interface Teardown { teardown (fn: () => unknown): void }

function linkOrCopy (from: string, to: string): void {
  try {
    execFileSync('cp', ['-al', from, to])
  } catch {
    cpSync(from, to, { recursive: true })
  }
}

/**
 * An installation of the built gateway (dist/, package.json, node_modules) and of the Node.js
 * binary running this test, in a directory the program's user can read, as /opt would be.
 * node_modules hard-linked where possible: a second or so, and no copy of its contents.
 */
export function installCopy (t: Teardown): { installDir: string, node: string } {
  if (!existsSync(join(repoRoot, 'dist/cli.js'))) throw new Error('dist/cli.js is missing; run npm run build first')
  const installDir = openTempDir('gw-install-', t)
  // dist/ copied: a hard link would follow a rebuild (tsc rewrites files in place) mid-test.
  cpSync(join(repoRoot, 'dist'), join(installDir, 'dist'), { recursive: true })
  cpSync(join(repoRoot, 'package.json'), join(installDir, 'package.json'))
  linkOrCopy(join(repoRoot, 'node_modules'), join(installDir, 'node_modules'))
  mkdirSync(join(installDir, 'bin'))
  const node = join(installDir, 'bin', 'node')
  try {
    linkSync(process.execPath, node)
  } catch {
    cpSync(process.execPath, node)
  }
  chmodSync(node, 0o755)
  return { installDir, node }
}

/** Writes files into a new application root owned by the program's user, as Oro's is. */
export function appRootOwnedBy (t: Teardown, user: string, files: Record<string, string>): string {
  const ids = userId(user)
  if (ids === undefined) throw new Error(`no user ${user}`)
  const root = openTempDir('gw-oroapp-', t)
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, content, { mode: 0o640 })
  }
  execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, root])
  return root
}

export interface Supervisord {
  dir: string
  child: ChildProcess
  /** supervisorctl with this instance's configuration; its output (exit code ignored: status exits 3 when stopped). */
  ctl: (...args: string[]) => string
  /** supervisord's own log (spawned, exited, stopped lines). */
  log: () => string
  /** The program's output (stdout_logfile=AUTO in the instance's childlogdir). */
  programLog: () => string
  /** The program's pid, 0 when not running. */
  pid: () => number
  /** Rewrites the configuration with another program block, as an operator edits the file (then reread/update). */
  setProgram: (program: string) => void
}

/** Runs supervisord in the foreground with the given program block; shut down at teardown. */
export async function startSupervisord (t: Teardown, program: string): Promise<Supervisord> {
  if (supervisordBinary === undefined || supervisorctlBinary === undefined) throw new Error('supervisord is not installed')
  const dir = openTempDir('gw-supervisord-')
  const conf = join(dir, 'supervisord.conf')
  const header = `[unix_http_server]
file=${dir}/supervisor.sock
chmod=0700

[supervisord]
logfile=${dir}/supervisord.log
pidfile=${dir}/supervisord.pid
childlogdir=${dir}
user=root
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${dir}/supervisor.sock

`
  writeFileSync(conf, header + program)
  // The environment of a system service, not the test's: tap adds its NODE_OPTIONS to every child
  // it spawns, so `env -i` clears the environment after that, as an init system starts supervisord.
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' }
  const clean = ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)]
  const child = spawn('env', [...clean, supervisordBinary, '-n', '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] })
  const ctl = (...args: string[]): string => {
    try {
      return execFileSync('env', [...clean, supervisorctlBinary, '-c', conf, ...args], { encoding: 'utf8' })
    } catch (error) {
      return String((error as { stdout?: string }).stdout ?? '')
    }
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Should the test end first, supervisord stops its program (SIGTERM) and exits.
  const orphan = (): void => { child.kill('SIGTERM') }
  process.once('exit', orphan)
  t.teardown(async () => {
    process.removeListener('exit', orphan)
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  })
  const readLog = (path: string): string => existsSync(path) ? readFileSync(path, 'utf8') : ''
  return {
    dir,
    child,
    ctl,
    log: () => readLog(join(dir, 'supervisord.log')),
    programLog: () => readdirSync(dir).filter((f) => f.startsWith('oro_web_socket-stdout')).map((f) => readLog(join(dir, f))).join(''),
    pid: () => Number(ctl('pid', 'oro_web_socket').trim()) || 0,
    setProgram: (next) => { writeFileSync(conf, header + next) }
  }
}

/** True while a process with this pid exists. */
export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Pids of the processes whose command line contains `text`. */
export function processesWith (text: string): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(text)) found.push(Number(entry))
    } catch {
      // Gone meanwhile.
    }
  }
  return found
}

/** The real user id of a process. */
export function processUid (pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'))
  return Number(line?.split(/\s+/)[1])
}
