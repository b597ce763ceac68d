// A configuration problem, told in one line: where the value came from, what is wrong with it,
// and what a right value looks like. The process prints it and exits 1 before it listens.
// The code comes from the one catalogue (src/errors.ts): these classes only add the structure.
import { GW_ERR_CONFIG_INVALID } from '../errors.js'

// @fastify/error's classes answer `instanceof` by code, and subclasses inherit that: these two
// must tell each other apart, so they take back the ordinary prototype check.
function byPrototype (this: abstract new (...args: never[]) => unknown, value: unknown): boolean {
  return Function.prototype[Symbol.hasInstance].call(this, value)
}

export class ConfigError extends GW_ERR_CONFIG_INVALID {
  static override [Symbol.hasInstance] (value: unknown): boolean { return byPrototype.call(this, value) }
  /** The variable, flag, or "file: key" that holds the bad value. */
  readonly setting: string
  readonly problem: string
  readonly example: string | undefined

  constructor (setting: string, problem: string, example?: string) {
    const text = `${setting} ${problem}${example !== undefined ? `; for example ${example}` : ''}`
    super(text)
    this.setting = setting
    this.problem = problem
    this.example = example
    this.name = 'ConfigError'
    this.message = text
  }

  /** The single stderr line. */
  line (): string {
    return `${this.code}: invalid configuration: ${this.message}`
  }
}

/** Several problems found in one configuration, reported together (one line each). */
export class ConfigErrors extends GW_ERR_CONFIG_INVALID {
  static override [Symbol.hasInstance] (value: unknown): boolean { return byPrototype.call(this, value) }
  readonly errors: readonly ConfigError[]

  constructor (errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join('; '))
    this.errors = errors
    this.name = 'ConfigErrors'
    this.message = `${errors.length} problems: ${errors.map((e) => e.message).join('; ')}`
  }

  lines (): string[] {
    return this.errors.map((e) => e.line())
  }
}

/** The stderr lines of a configuration error, or undefined when it is not one. */
export function configErrorLines (err: unknown): string[] | undefined {
  if (err instanceof ConfigErrors) return err.lines()
  if (err instanceof ConfigError) return [err.line()]
  return undefined
}

/** The problems of a thrown configuration error, as a list (other errors are rethrown). */
export function configProblems (err: unknown): ConfigError[] {
  if (err instanceof ConfigErrors) return [...err.errors]
  if (err instanceof ConfigError) return [err]
  throw err
}

/** Throws nothing, the one problem, or all of them together. */
export function throwProblems (problems: readonly ConfigError[]): void {
  if (problems.length === 1) throw problems[0] as ConfigError
  if (problems.length > 1) throw new ConfigErrors(problems)
}

/**
 * Runs `work`; a configuration error it throws is added to `problems` and `fallback` returned,
 * so the checks after it still run and every problem is reported at once.
 */
export function collect<T> (problems: ConfigError[], work: () => T, fallback: T): T {
  try {
    return work()
  } catch (err) {
    problems.push(...configProblems(err))
    return fallback
  }
}
