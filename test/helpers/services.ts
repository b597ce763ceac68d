// Tests that need a service that may not be installed on a developer's machine (nginx,
// redis-server, PostgreSQL, MariaDB, Chromium) skip with the reason and the way to install it;
// under CI=true a missing service fails instead, since .ci/run installs and starts them all.
import { execFileSync } from 'node:child_process'
import { createConnection, createServer } from 'node:net'

export const inCI = process.env.CI === 'true' || process.env.CI === '1'

/** Full path of an executable, or undefined. */
export function findBinary (name: string, extraDirs: string[] = ['/usr/sbin', '/sbin', '/usr/local/sbin']): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:${extraDirs.join(':')}` } }).toString().trim() || undefined
  } catch {
    return undefined
  }
}

/** Resolves true when something accepts TCP connections on host:port. */
export function canConnect (port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host })
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * The options for a tap test that needs a service: `{ skip: reason }` when it is missing on a
 * developer's machine. Under CI the missing service is a failure (thrown at once).
 */
export function serviceOptions (available: boolean, what: string, install: string): { skip?: string } {
  if (available) return {}
  const reason = `${what} is not available here; install it with: ${install}`
  if (inCI) throw new Error(`CI=true but ${reason}`)
  return { skip: reason }
}

// Ports this process already handed out: the kernel may offer a just-closed port again, and two
// servers a test starts must not get the same one.
const handedOut = new Set<number>()

/** A loopback port that was free a moment ago (listen on 0, close), never the same one twice. */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer()
      server.once('error', reject)
      server.listen(0, host, () => {
        const address = server.address()
        const found = typeof address === 'object' && address !== null ? address.port : 0
        server.close(() => resolve(found))
      })
    })
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error('no free port found')
}
