// Command-line options shared by the commands, parsed with node:util parseArgs. Oro's own flags
// (--env=prod|dev, -v/-vv/-vvv, -q) keep their meaning.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ConfigError } from '../config/errors.js'
import { GW_ERR_USAGE } from '../errors.js'
import type { LoadOptions } from '../config/load.js'
import type { Mode } from '../logger.js'

export const COMMON_OPTIONS = {
  env: { type: 'string', short: 'e' },
  verbose: { type: 'boolean', short: 'v', multiple: true },
  quiet: { type: 'boolean', short: 'q' },
  host: { type: 'string', short: 'a' },
  port: { type: 'string', short: 'p' },
  'app-root': { type: 'string' },
  parameters: { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  'drain-delay': { type: 'string' },
  json: { type: 'boolean' },
  check: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

export interface CommonOptions {
  mode: Mode
  verbosity: number
  quiet: boolean
  json: boolean
  /** config: also connect to the database and the broker. */
  check: boolean
  help: boolean
  load: LoadOptions
  positionals: string[]
}

type Options = NonNullable<ParseArgsConfig['options']>

/** parseArgs, with an unknown or malformed option told as a usage error naming the option. */
export function parseCommandLine<T extends Options> (args: string[], options: T, example: string): ReturnType<typeof parseArgs<{ args: string[], options: T, allowPositionals: true, strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new GW_ERR_USAGE(`${describeParseError(err as Error & { code?: string })}; for example ${example}`)
  }
}

// node's messages are long and name the option as '-p, --port <value>': say it shortly, by name.
function describeParseError (err: Error & { code?: string }): string {
  const named = /'(?:-\w, )?(--?[\w-]+)(?: <value>)?'/.exec(err.message)?.[1]
  const flag = named ?? 'an option'
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return `unknown option ${flag}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(err.message) ? `option ${flag} takes no value` : `option ${flag} needs a value`
    default: return err.message.split('. ')[0] ?? err.message
  }
}

/** A usage mistake (exit 2), not a configuration problem. */
export function usageError (problem: string, example: string): Error {
  return new GW_ERR_USAGE(`${problem}; for example ${example}`)
}

/** A command that takes no positional arguments: any is a usage mistake (exit 2). */
export function refuseArguments (positionals: string[], example: string): void {
  if (positionals.length > 0) throw usageError(`unexpected arguments: ${positionals.join(' ').slice(0, 80)}`, example)
}

/** What loadConfig needs from a command's --app-root, --parameters, --host and --port. */
export function commandLoadOptions (values: { 'app-root'?: string, parameters?: string, host?: string, port?: string }, env: Record<string, string | undefined>, cwd: string): LoadOptions {
  const load: LoadOptions = { env, cwd }
  if (values['app-root'] !== undefined) load.appRoot = values['app-root']
  if (values.parameters !== undefined) load.parametersFile = values.parameters
  if (values.host !== undefined || values.port !== undefined) {
    load.listen = { ...(values.host !== undefined ? { host: values.host } : {}), ...(values.port !== undefined ? { port: values.port } : {}) }
  }
  return load
}

export function parseCommonOptions (args: string[], env: Record<string, string | undefined>, cwd: string): CommonOptions {
  const { values, positionals } = parseCommandLine(args, COMMON_OPTIONS, 'oro-websocket-gateway serve --env=prod -v')
  const mode = values.env ?? 'prod'
  if (mode !== 'prod' && mode !== 'dev') {
    throw new ConfigError('--env', `= "${mode}" is not prod or dev`, '--env=prod')
  }
  const flags: NonNullable<LoadOptions['flags']> = {}
  if (values['shutdown-timeout'] !== undefined) flags.ORO_WEBSOCKET_SHUTDOWN_TIMEOUT = { value: values['shutdown-timeout'], flag: '--shutdown-timeout' }
  if (values['drain-delay'] !== undefined) flags.ORO_WEBSOCKET_DRAIN_DELAY = { value: values['drain-delay'], flag: '--drain-delay' }
  const load: LoadOptions = { env, cwd, flags, listen: {}, mode }
  if (values['app-root'] !== undefined) load.appRoot = values['app-root']
  if (values.parameters !== undefined) load.parametersFile = values.parameters
  if (values.host !== undefined) load.listen = { ...load.listen, host: values.host }
  if (values.port !== undefined) load.listen = { ...load.listen, port: values.port }
  return {
    mode,
    verbosity: values.verbose?.length ?? 0,
    quiet: values.quiet ?? false,
    json: values.json ?? false,
    check: values.check ?? false,
    help: values.help ?? false,
    load,
    positionals
  }
}
