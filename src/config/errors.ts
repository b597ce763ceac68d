// A configuration problem, told in one line: where the value came from, what is wrong with it,
// and what a right value looks like. The process prints it and exits 1 before it listens.

export class ConfigError extends Error {
  readonly code = 'GW_ERR_CONFIG_INVALID'
  constructor (
    /** The variable, flag, or "file: key" that holds the bad value. */
    readonly setting: string,
    readonly problem: string,
    readonly example?: string
  ) {
    super(`${setting} ${problem}${example !== undefined ? `; for example ${example}` : ''}`)
    this.name = 'ConfigError'
  }

  /** The single stderr line. */
  line (): string {
    return `${this.code}: invalid configuration: ${this.message}`
  }
}
