// Where log lines go: stdout, written asynchronously, and never at the cost of serving. A stdout
// that cannot be written (a full disk, a closed pipe) or that falls behind by more than
// maxBufferedBytes makes the gateway drop log lines, counted (`dropped`, oro_ws_log_lines_dropped_total),
// with one line on stderr per outage; it tries stdout again every retryMs. pino's own destination
// (sonic-boom) emits an error nobody can handle there and then hangs the process in its crash
// handler's flush (issue 18: `serve >/dev/full` never answered /healthz and ignored SIGTERM).
import { write as fsWrite } from 'node:fs'
import { GW_ERR_LOG_WRITE_FAILED } from './errors.js'

export interface LogDestinationOptions {
  /** File descriptor written to (1, stdout). */
  fd?: number
  /** Bytes of lines waiting to be written before new ones are dropped. Default 16 MiB. */
  maxBufferedBytes?: number
  /** After a failed write, lines are dropped for this long, then stdout is tried again. Default 5,000 ms. */
  retryMs?: number
  /** Told once per outage (default: one GW_ERR_LOG_WRITE_FAILED line on stderr). */
  onBroken?: (err: NodeJS.ErrnoException) => void
  /** Told when stdout takes lines again, with how many were dropped meanwhile. */
  onRecovered?: (dropped: number) => void
}

const EAGAIN_RETRY_MS = 10

function reportBroken (err: NodeJS.ErrnoException): void {
  const error = new GW_ERR_LOG_WRITE_FAILED(err.code ?? err.message)
  fsWrite(2, `${error.code}: ${error.message}\n`, () => {})
}

export class LogDestination {
  readonly #fd: number
  readonly #maxBufferedBytes: number
  readonly #retryMs: number
  readonly #onBroken: (err: NodeJS.ErrnoException) => void
  readonly #onRecovered: ((dropped: number) => void) | null
  #lines: string[] = []
  #bytes = 0
  #writing = false
  /** Lines are dropped until then (ms since the epoch); 0 while stdout works. */
  #brokenUntil = 0
  #broken = false
  #droppedInOutage = 0
  #dropped = 0
  #waiters: Array<(err?: Error) => void> = []

  constructor (options: LogDestinationOptions = {}) {
    this.#fd = options.fd ?? 1
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 16 * 1024 * 1024
    this.#retryMs = options.retryMs ?? 5000
    this.#onBroken = options.onBroken ?? reportBroken
    this.#onRecovered = options.onRecovered ?? null
  }

  /** pino calls this with one serialized line. */
  write (line: string): boolean {
    // Bytes, not characters: a line of non-ASCII text (user names, topics) is up to 3 bytes a character.
    const bytes = Buffer.byteLength(line)
    if ((this.#broken && Date.now() < this.#brokenUntil) || this.#bytes + bytes > this.#maxBufferedBytes) {
      this.#drop(1)
      return true
    }
    this.#lines.push(line)
    this.#bytes += bytes
    // Written at once when stdout is idle (as pino's own destination does); the lines that come
    // while a write is under way leave together in the next one.
    if (!this.#writing) this.#writeNext()
    return true
  }

  /** Lines dropped since it was made (oro_ws_log_lines_dropped_total of the apps logging here). */
  get dropped (): number { return this.#dropped }

  /** Calls back once every line handed over so far was written (or dropped). */
  flush (callback: (err?: Error) => void = () => {}): void {
    if (!this.#writing && this.#lines.length === 0) {
      callback()
      return
    }
    this.#waiters.push(callback)
  }

  #drop (lines: number): void {
    this.#dropped += lines
    if (this.#broken) this.#droppedInOutage += lines
  }

  readonly #writeNext = (): void => {
    if (this.#lines.length === 0) {
      this.#idle()
      return
    }
    const lines = this.#lines.length
    const data = Buffer.from(this.#lines.join(''))
    this.#lines = []
    this.#bytes = 0
    this.#writing = true
    this.#send(data, lines)
  }

  #send (data: Buffer, lines: number): void {
    fsWrite(this.#fd, data, 0, data.length, null, (err, written) => {
      if (err !== null) {
        if (err.code === 'EAGAIN') {
          // A non-blocking pipe that is full: try again shortly, without blocking the event loop.
          setTimeout(() => { this.#send(data, lines) }, EAGAIN_RETRY_MS).unref()
          return
        }
        this.#failed(err, lines)
        return
      }
      if (written < data.length) {
        this.#send(data.subarray(written), lines)
        return
      }
      if (this.#broken) {
        this.#broken = false
        const dropped = this.#droppedInOutage
        this.#droppedInOutage = 0
        this.#onRecovered?.(dropped)
      }
      this.#writing = false
      this.#writeNext()
    })
  }

  #failed (err: NodeJS.ErrnoException, lines: number): void {
    // This batch and what waits behind it are dropped, and so is every line until the retry.
    const waiting = this.#lines.length
    this.#lines = []
    this.#bytes = 0
    if (!this.#broken) this.#onBroken(err)
    this.#broken = true
    this.#drop(lines + waiting)
    this.#brokenUntil = Date.now() + this.#retryMs
    this.#writing = false
    this.#idle()
  }

  #idle (): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter()
  }
}
