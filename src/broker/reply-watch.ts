// Notices a Redis connection that stopped answering, within a second, while it still looks
// connected (a frozen Redis, a silently broken network). Redis answers the commands of one
// connection in order, so any reply means it is answering; the watch is "silent" from the moment
// a command was sent while none was awaited until the next reply. A command that timed out is no
// reply: the watch stays silent until Redis answers something.

export class ReplyWatch {
  #pending = 0
  /** When the connection started owing an answer, or null when it owes none. */
  #waitingSince: number | null = null
  #epoch = 0
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  /** Follows a command sent on the connection; returns it unchanged. */
  track<T> (command: Promise<T>, isReply: (err: unknown) => boolean): Promise<T> {
    const epoch = this.#epoch
    if (this.#pending++ === 0 && this.#waitingSince === null) this.#waitingSince = this.#now()
    command.then(() => { this.#settled(epoch, true) }, (err: unknown) => { this.#settled(epoch, isReply(err)) })
    return command
  }

  /** A new connection: nothing is owed on it yet (late settlements of the old one are ignored). */
  reset (): void {
    this.#epoch++
    this.#pending = 0
    this.#waitingSince = null
  }

  /** How long the connection has owed an answer without giving any (0 when it owes none). */
  silentMs (): number {
    return this.#waitingSince === null ? 0 : this.#now() - this.#waitingSince
  }

  #settled (epoch: number, replied: boolean): void {
    if (epoch !== this.#epoch) return
    this.#pending--
    // A reply to a later command answers for every earlier one; a time-out answers for nothing.
    if (replied) this.#waitingSince = this.#pending > 0 ? this.#now() : null
  }
}
