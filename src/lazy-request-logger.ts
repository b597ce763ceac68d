// Fastify gives every request its own child logger (bound to its reqId). With pino's redaction on,
// making one costs ~2.5 µs per request (the bindings pass through the redacting serializer), a
// tenth of what POST /publish adds to a bare route (docs/benchmark.md, issue 20), and almost no
// request ever logs (requests are logged at debug; errors are rare). This child is made at once
// but becomes a pino child only on its first use: the same bindings, level and serializers then.
import type { Bindings, ChildLoggerOptions, Logger } from 'pino'

type Method = (...args: unknown[]) => void

export class LazyRequestLogger {
  readonly #parent: Logger<string>
  readonly #bindings: Bindings
  readonly #options: ChildLoggerOptions<string>
  #real: Logger<string> | null = null

  constructor (parent: Logger<string>, bindings: Bindings, options: ChildLoggerOptions<string>) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  /** The pino child, made on first use. */
  get real (): Logger<string> {
    if (this.#real === null) this.#real = this.#parent.child(this.#bindings, this.#options)
    return this.#real
  }

  get level (): string { return this.#real?.level ?? this.#options.level ?? this.#parent.level }
  set level (level: string) { this.real.level = level }
  isLevelEnabled (level: string): boolean { return this.real.isLevelEnabled(level) }
  child (bindings: Bindings, options?: ChildLoggerOptions<string>): Logger<string> { return this.real.child(bindings, options) }
  bindings (): Bindings { return this.real.bindings() }
}

export interface LazyRequestLogger {
  fatal: Method
  error: Method
  warn: Method
  notice: Method
  info: Method
  debug: Method
  trace: Method
  silent: Method
}

for (const method of ['fatal', 'error', 'warn', 'notice', 'info', 'debug', 'trace', 'silent'] as const) {
  Object.defineProperty(LazyRequestLogger.prototype, method, {
    value: function (this: LazyRequestLogger, ...args: unknown[]): void {
      (this.real as unknown as Record<string, Method>)[method]?.(...args)
    },
    writable: true,
    configurable: true
  })
}

/** Fastify's childLoggerFactory option: a request's logger, made into a pino child on first use. */
export function lazyChildLoggerFactory (logger: unknown, bindings: Bindings, options: ChildLoggerOptions<string>): LazyRequestLogger {
  return new LazyRequestLogger(logger as Logger<string>, bindings, options)
}
