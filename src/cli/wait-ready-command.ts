// `oro-websocket-gateway wait-ready [--timeout S]`: waits until the gateway of this configuration
// answers GET /healthz (it listens and serves), then exits 0; exit 1 after the timeout. For
// supervisors that have no other way to know: systemd's ExecStartPost (deploy/systemd), scripts.
// Node cannot call sd_notify (a Unix datagram socket) without native code, so the unit polls.
import { loadConfig } from '../config/load.js'
import { ConfigError } from '../config/errors.js'
import { upstreamHost } from './nginx-config.js'
import { parseCommandLine } from './options.js'
import { CommandError } from './publish-command.js'

export const WAIT_READY_OPTIONS = {
  timeout: { type: 'string' },
  'app-root': { type: 'string' },
  parameters: { type: 'string' },
  host: { type: 'string', short: 'a' },
  port: { type: 'string', short: 'p' }
} as const

/** Polls `url` every `intervalMs` until it answers 200; the last problem seen otherwise. */
export async function waitFor200 (url: string, timeoutMs: number, intervalMs = 200): Promise<{ ok: true } | { ok: false, last: string }> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(100, Math.min(2000, deadline - Date.now()))) })
      await res.arrayBuffer()
      if (res.status === 200) return { ok: true }
      last = `HTTP ${res.status}`
    } catch (err) {
      last = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
    }
    if (Date.now() + intervalMs > deadline) return { ok: false, last }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

export async function waitReadyCommand (args: string[], env: Record<string, string | undefined>, cwd: string): Promise<string> {
  const { values, positionals } = parseCommandLine(args, WAIT_READY_OPTIONS, 'oro-websocket-gateway wait-ready --timeout 30')
  if (positionals.length > 0) throw new ConfigError('command line', `has unexpected arguments: ${positionals.join(' ')}`, 'oro-websocket-gateway wait-ready --timeout 30')
  const timeout = values.timeout ?? '30'
  if (!/^\d+(\.\d+)?$/.test(timeout) || Number(timeout) <= 0) throw new ConfigError('--timeout', `= "${timeout}" is not a number of seconds`, '--timeout 30')
  const loaded = loadConfig({
    env,
    cwd,
    ...(values['app-root'] !== undefined ? { appRoot: values['app-root'] } : {}),
    ...(values.parameters !== undefined ? { parametersFile: values.parameters } : {}),
    listen: { ...(values.host !== undefined ? { host: values.host } : {}), ...(values.port !== undefined ? { port: values.port } : {}) }
  })
  const url = `http://${upstreamHost(loaded.gateway.server.host)}:${loaded.gateway.server.port}/healthz`
  const result = await waitFor200(url, Number(timeout) * 1000)
  if (!result.ok) {
    throw new CommandError('GW_ERR_GATEWAY_UNREACHABLE', `the gateway at ${url} did not answer 200 within ${timeout} s (last: ${result.last}); see its log`)
  }
  return `${url}: 200\n`
}
