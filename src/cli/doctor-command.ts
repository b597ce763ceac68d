// `oro-websocket-gateway check [--app-root DIR] [--url URL] [--origin ORIGIN] [--key KEY]`: the
// doctor (src/check/run.ts). Prints one line per step; exit 0 only when no step failed.
import { loadConfig } from '../config/load.js'
import { ConfigError } from '../config/errors.js'
import { exitCode, renderReport } from '../check/report.js'
import { runCheck, type CheckOptions } from '../check/run.js'
import { commandLoadOptions, parseCommandLine, refuseArguments } from './options.js'

export const CHECK_OPTIONS = {
  url: { type: 'string' },
  origin: { type: 'string' },
  key: { type: 'string' },
  timeout: { type: 'string' },
  'app-root': { type: 'string' },
  parameters: { type: 'string' }
} as const

export async function checkCommand (args: string[], env: Record<string, string | undefined>, cwd: string): Promise<{ text: string, code: number }> {
  const { values, positionals } = parseCommandLine(args, CHECK_OPTIONS, 'oro-websocket-gateway check --app-root /var/www/oroapp --url wss://shop.example.com/ws')
  refuseArguments(positionals, 'oro-websocket-gateway check --url wss://shop.example.com/ws')
  const timeout = values.timeout ?? '3'
  if (!/^\d+(\.\d+)?$/.test(timeout) || Number(timeout) <= 0) throw new ConfigError('--timeout', `= "${timeout}" is not a number of seconds`, '--timeout 3')
  if (values.url !== undefined && !/^(wss?|https?):\/\//.test(values.url)) {
    throw new ConfigError('--url', `= "${values.url}" is not a ws://, wss://, http:// or https:// URL`, '--url wss://shop.example.com/ws')
  }
  const loaded = loadConfig(commandLoadOptions(values, env, cwd))
  const options: CheckOptions = { loaded, timeoutMs: Number(timeout) * 1000, env }
  if (values.url !== undefined) options.url = values.url
  if (values.origin !== undefined) options.origin = values.origin
  if (values.key !== undefined) options.key = values.key
  const results = await runCheck(options)
  return { text: renderReport(results), code: exitCode(results) }
}
