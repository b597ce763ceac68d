// The doctor's tests' shared setup: a gateway in production mode with nginx in front (the block
// `oro-websocket-gateway nginx` prints, edited to break it on purpose), and the doctor run as a
// command with the application's settings.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { loadConfig } from '../../src/config/load.js'
import { nginxParts, renderNginx } from '../../src/cli/nginx-config.js'
import { startApp } from './app.js'
import { runNginx } from './nginx-run.js'
import { freePort } from './services.js'
import { cliPath } from './spawn-gateway.js'

const run = promisify(execFile)
export const SECRET = 'the-application-secret'
export const ORIGIN = 'https://shop.example.com'

interface Teardown { teardown (fn: () => unknown): void }

export interface Site {
  /** The settings the Oro application has (what the doctor reads). */
  env: Record<string, string>
  url: string
}

/** A gateway in production mode and nginx in front of it with the block `nginx` prints, edited by `edit`. */
export async function site (t: Teardown, gatewayEnv: Record<string, string> = {}, edit: (block: string) => string = (b) => b): Promise<Site> {
  const nginxPort = await freePort()
  const common = { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'publish-key', ORO_WEBSOCKET_FRONTEND_DSN: `//*:${nginxPort}/ws`, ...gatewayEnv }
  const gateway = await startApp(t, { ORO_WEBSOCKET_ALLOWED_ORIGINS: 'shop.example.com,127.0.0.1,localhost', ...common }, 'prod', 'warn')
  const env = { ...common, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gateway.port}`, ORO_WEBSOCKET_BACKEND_DSN: `tcp://127.0.0.1:${gateway.port}` }
  const loaded = loadConfig({ env, cwd: process.cwd() })
  const text = renderNginx(nginxParts(loaded.gateway, { tls: false, upstream: 1 }), 'the test')
  await runNginx(t, edit(text), nginxPort)
  return { env, url: `ws://127.0.0.1:${nginxPort}/ws` }
}

export async function doctor (env: Record<string, string>, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORO_')) clean[k] = v
  try {
    // A generous --timeout: each step waits only as long as its answer takes, and the machine may be busy.
    const { stdout, stderr } = await run(process.execPath, [cliPath, 'check', '--timeout', '20', ...args], { env: { ...clean, ...env } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** The report's line for a step. */
export function line (stdout: string, step: string): string {
  return stdout.split('\n').find((l) => new RegExp(`^(ok  |FAIL|warn|skip)  ${step}\\s`).test(l)) ?? `(no ${step} line in:\n${stdout})`
}

