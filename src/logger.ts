// Oro's log levels (OroSyncBundle, oro-compat §8) on pino, with pino's custom level `notice`
// between info and warn. JSON lines on stdout; pino-pretty only for a person at a terminal in dev.
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino'

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

export function createLogger (setup: LoggerSetup): GatewayLogger {
  const options: LoggerOptions<'notice'> = {
    level: setup.level,
    customLevels: CUSTOM_LEVELS,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    formatters: { level: (label) => ({ level: label }) }
  }
  if (setup.pretty) {
    options.transport = { target: 'pino-pretty', options: { customLevels: 'notice:35', colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
    return pino(options)
  }
  return pino(options, setup.destination ?? pino.destination({ dest: 1, sync: false }))
}

/**
 * The logger of the start and stop lines: at notice, yet shown at prod's default level (warn),
 * as supervisord operators expect a line saying where the gateway listens. -q still hides them.
 */
export function lifecycleLogger (logger: GatewayLogger, quiet: boolean): GatewayLogger {
  const level = quiet ? 'error' : logger.levelVal < CUSTOM_LEVELS.notice ? logger.level : 'notice'
  return logger.child({}, { level })
}
