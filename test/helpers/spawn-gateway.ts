// Starts the built gateway (dist/cli.js serve) as a child process on a free loopback port,
// the way a supervisor would, and captures its output. Needs `npm run build` (npm test does it).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseDsn } from '../../src/config/dsn.js'
import { freePort } from './services.js'

export { freePort }

export const cliPath = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

const execCli = promisify(execFile)

export interface CliResult { code: number, stdout: string, stderr: string }

/** Runs the built CLI once with `env` and none of this process's ORO_* variables. */
export async function cli (args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORO_')) clean[k] = v
  try {
    const { stdout, stderr } = await execCli(process.execPath, [cliPath, ...args], { env: { ...clean, ...env } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as CliResult
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface StartOptions {
  /** After `serve`, e.g. ['--env=prod', '-vv']. */
  args?: string[]
  /** Added to the environment; ORO_WEBSOCKET_SERVER_DSN defaults to //127.0.0.1:<free port>. */
  env?: Record<string, string>
  cwd?: string
  /** 'healthz' (default): resolve once GET /healthz answers 200. 'exit': once the child exits. */
  waitFor?: 'healthz' | 'exit'
  /** How long to wait, in ms (default 60000: a busy 2-core CI machine can take long to start a process). */
  timeoutMs?: number
  /** 'https' when the SERVER DSN has TLS: the url says so and `ready` replaces the plain GET /healthz poll. */
  scheme?: 'http' | 'https'
  /** Instead of polling GET url/healthz with fetch (e.g. over TLS with the test's CA). */
  ready?: (url: string, timeoutMs: number, gaveUp: Promise<unknown>) => Promise<void>
}

export interface Gateway {
  child: ChildProcess
  port: number
  url: string
  stdout (): string
  stderr (): string
  /** stdout's JSON lines (the log), parsed; other lines are left out. */
  logLines (): Array<Record<string, unknown>>
  exited: Promise<Exit>
  /** Sends the signal (default SIGTERM) unless the child has exited, then waits for the exit. */
  stop (signal?: NodeJS.Signals): Promise<Exit>
}

interface Teardown { teardown (fn: () => unknown): void }

/** Polls GET url until it answers 200; rejects on timeout or when `gaveUp` settles first. */
export async function waitForHealthz (url: string, timeoutMs: number, gaveUp?: Promise<unknown>): Promise<void> {
  let stopped = false
  void gaveUp?.then(() => { stopped = true }, () => { stopped = true })
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (!stopped && Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return
      last = `HTTP ${res.status}`
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(stopped ? `the process exited before ${url} answered` : `${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`)
}

export async function startGateway (options: StartOptions = {}, t?: Teardown): Promise<Gateway> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing; run npm run build first`)
  // The caller's ORO_* variables would make tests depend on the shell they run in.
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith('ORO_')) env[name] = value
  let dsn = options.env?.ORO_WEBSOCKET_SERVER_DSN
  if (dsn === undefined) dsn = `//127.0.0.1:${await freePort()}`
  Object.assign(env, { ORO_WEBSOCKET_SERVER_DSN: dsn }, options.env)
  const { host, port } = parseDsn(dsn)
  const urlHost = ['', '*', '0.0.0.0', '::', '[::]'].includes(host) ? '127.0.0.1' : host
  const url = `${options.scheme ?? 'http'}://${urlHost.includes(':') && !urlHost.startsWith('[') ? `[${urlHost}]` : urlHost}:${port}`

  const child = spawn(process.execPath, [cliPath, 'serve', ...(options.args ?? [])], {
    cwd: options.cwd ?? process.cwd(),
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { err += chunk })
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }))
    child.once('error', (e) => { err += `spawn failed: ${e.message}\n`; resolve({ code: null, signal: null }) })
  })
  const running = (): boolean => child.exitCode === null && child.signalCode === null
  // Should the test process end first (a tap timeout), the gateway must not outlive it.
  const orphan = (): void => { if (running()) child.kill('SIGKILL') }
  process.once('exit', orphan)
  void exited.then(() => process.removeListener('exit', orphan))
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> => {
    if (running()) child.kill(signal)
    return exited
  }
  t?.teardown(async () => {
    if (!running()) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  })

  const gateway: Gateway = {
    child,
    port,
    url,
    stdout: () => out,
    stderr: () => err,
    logLines: () => out.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return []
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return []
      }
    }),
    exited,
    stop
  }

  const timeoutMs = options.timeoutMs ?? 60_000
  if (options.waitFor === 'exit') {
    const timeout = new Promise<never>((_resolve, reject) => {
      setTimeout(() => reject(new Error(`the gateway did not exit within ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs).unref()
    })
    try {
      await Promise.race([exited, timeout])
    } catch (e) {
      if (running()) child.kill('SIGKILL')
      throw e
    }
    return gateway
  }
  try {
    await (options.ready ?? ((u, ms, gaveUp) => waitForHealthz(`${u}/healthz`, ms, gaveUp)))(url, timeoutMs, exited)
  } catch (e) {
    if (running()) child.kill('SIGKILL')
    const code = await exited
    throw new Error(`${(e as Error).message} (exit code ${String(code.code)}, signal ${String(code.signal)}); stderr:\n${err}stdout:\n${out}`)
  }
  return gateway
}
