// Oro's log levels (OroSyncBundle, oro-compat §8) on pino, with pino's custom level `notice`
// between info and warn. JSON lines on stdout; pino-pretty only for a person at a terminal in dev
// (a development dependency: a production install has none and logs JSON). Writing stdout never
// stops the gateway: see log-destination.ts.
import { createRequire } from 'node:module'
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino'
import { LogDestination } from './log-destination.js'

export type Mode = 'prod' | 'dev'

export const CUSTOM_LEVELS = { notice: 35 } as const
export type GatewayLogger = Logger<'notice'>

/** What the core (src/) needs of a logger: objects first, then the message. */
export type LogMethod = (obj: object, msg: string) => void
export interface Log {
  debug: LogMethod
  info: LogMethod
  notice: LogMethod
  warn: LogMethod
  error: LogMethod
}

const LEVELS: Record<Mode, readonly string[]> = {
  //      normal     -v        -vv      -vvv
  prod: ['warn', 'notice', 'info', 'debug'],
  dev: ['info', 'debug', 'debug', 'debug']
}

/** The level for a mode, a verbosity (number of -v) and -q. */
export function logLevel (mode: Mode, verbosity: number, quiet: boolean): string {
  if (quiet) return 'error'
  const levels = LEVELS[mode]
  return levels[Math.min(Math.max(verbosity, 0), levels.length - 1)] as string
}

/** Paths that never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'ticket',
  'secret',
  'key',
  'password',
  '*.ticket',
  '*.secret',
  '*.password'
]

export interface LoggerSetup {
  mode: Mode
  level: string
  /** Human-readable output: only in dev mode and when stdout is a terminal. */
  pretty: boolean
  destination?: DestinationStream
}

/** True when pino-pretty can be loaded (`npm ci --omit=dev` leaves it out). */
export function prettyInstalled (resolve: (id: string) => string = createRequire(import.meta.url).resolve): boolean {
  try {
    resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}

/** The stdout destination of each logger createLogger made with it (one per process in practice). */
const destinations = new WeakMap<object, LogDestination>()

/**
 * Log lines the logger's stdout destination dropped (a full disk, a pipe 16 MiB behind): the
 * destination's own count, 0 for a logger writing elsewhere (pino-pretty, a test's stream).
 */
export function droppedLogLines (logger: GatewayLogger): number {
  return destinations.get(logger)?.dropped ?? 0
}

export function createLogger (setup: LoggerSetup): GatewayLogger {
  const options: LoggerOptions<'notice'> = {
    level: setup.level,
    customLevels: CUSTOM_LEVELS,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    formatters: { level: (label) => ({ level: label }) }
  }
  if (setup.pretty && prettyInstalled()) {
    options.transport = { target: 'pino-pretty', options: { customLevels: 'notice:35', colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
    return pino(options)
  }
  if (setup.destination !== undefined) return pino(options, setup.destination)
  let logger: GatewayLogger | null = null
  const destination = new LogDestination({
    onRecovered: (dropped) => { logger?.warn({ dropped }, `log output works again; ${dropped} log lines were dropped while stdout could not be written`) }
  })
  logger = pino(options, destination)
  destinations.set(logger, destination)
  return logger
}

/**
 * The logger of the start and stop lines: at notice, yet shown at prod's default level (warn),
 * as supervisord operators expect a line saying where the gateway listens. -q still hides them.
 */
export function lifecycleLogger (logger: GatewayLogger, quiet: boolean): GatewayLogger {
  const level = quiet ? 'error' : logger.levelVal < CUSTOM_LEVELS.notice ? logger.level : 'notice'
  return logger.child({}, { level })
}
