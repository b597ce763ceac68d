// `oro-websocket-gateway wait-ready [--timeout S]`: waits until the gateway of this configuration
// answers GET /healthz (it listens and serves), then exits 0; exit 1 after the timeout. For
// supervisors that have no other way to know: systemd's ExecStartPost (deploy/systemd), scripts.
// Node cannot call sd_notify (a Unix datagram socket) without native code, so the unit polls.
//
// With TLS on the SERVER DSN (context_options[local_cert]) it asks over https. It probes the
// listen address (127.0.0.1 for 0.0.0.0), which a certificate for ws.example.com does not name,
// and the CA that signed it is not in the configuration (cafile is for client certificates): so
// instead of a CA and a name it pins the certificate itself. The answer counts only when the
// certificate served is the one in local_cert (same SHA-256 fingerprint); another process on the
// port, without the gateway's key, cannot pass (src/tls/pin.ts). Nothing secret is sent either way.
import { loadConfig } from '../config/load.js'
import { ConfigError } from '../config/errors.js'
import { probeError, probeRequest } from '../tls/pin.js'
import { upstreamHost } from './nginx-config.js'
import { commandLoadOptions, parseCommandLine, refuseArguments } from './options.js'
import { CommandError } from './publish-command.js'

export const WAIT_READY_OPTIONS = {
  timeout: { type: 'string' },
  'app-root': { type: 'string' },
  parameters: { type: 'string' },
  host: { type: 'string', short: 'a' },
  port: { type: 'string', short: 'p' }
} as const

const EXAMPLE = 'oro-websocket-gateway wait-ready --timeout 30'

/**
 * Polls `url` every `intervalMs` until it answers 200; the last problem seen otherwise. An https
 * URL needs `fingerprint256`, the certificate the answer must come with (see above).
 */
export async function waitFor200 (url: string, timeoutMs: number, intervalMs = 200, fingerprint256?: string): Promise<{ ok: true } | { ok: false, last: string }> {
  if (url.startsWith('https:') && fingerprint256 === undefined) throw new TypeError('an https URL needs the fingerprint of the certificate to expect')
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  for (;;) {
    const budget = Math.max(100, Math.min(2000, deadline - Date.now()))
    try {
      const { status } = await probeRequest(url, {}, budget, fingerprint256)
      if (status === 200) return { ok: true }
      last = `HTTP ${status}`
    } catch (err) {
      last = probeError(err)
    }
    if (Date.now() + intervalMs > deadline) return { ok: false, last }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

export async function waitReadyCommand (args: string[], env: Record<string, string | undefined>, cwd: string): Promise<string> {
  const { values, positionals } = parseCommandLine(args, WAIT_READY_OPTIONS, EXAMPLE)
  refuseArguments(positionals, EXAMPLE)
  const timeout = values.timeout ?? '30'
  if (!/^\d+(\.\d+)?$/.test(timeout) || Number(timeout) <= 0) throw new ConfigError('--timeout', `= "${timeout}" is not a number of seconds`, '--timeout 30')
  const { server } = loadConfig(commandLoadOptions(values, env, cwd)).gateway
  // loadConfig has read and checked the certificate (tls.server) or stopped with the reason.
  const pin = server.tls?.server?.certificate.fingerprint256
  const url = `${pin !== undefined ? 'https' : 'http'}://${upstreamHost(server.host)}:${server.port}/healthz`
  const result = await waitFor200(url, Number(timeout) * 1000, 200, pin)
  if (!result.ok) {
    throw new CommandError('GW_ERR_GATEWAY_UNREACHABLE', `the gateway at ${url} did not answer 200 within ${timeout} s (last: ${result.last}); see its log`)
  }
  return `${url}: 200${pin !== undefined ? ' (the certificate of context_options[local_cert])' : ''}\n`
}
