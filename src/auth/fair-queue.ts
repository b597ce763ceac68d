// Round-robin queue over flows (client networks, or network and user): each turn takes the
// oldest item of the flow that has waited longest for a turn, so a flow with 2,000 waiting items
// and a flow with one share the service equally and neither starves. Items can be withdrawn (a
// client that hung up) without a scan: they are marked and skipped when their turn comes.
// Push, shift and cancel are O(1) (a Map keeps the flows in turn order).
import { Fifo } from '../fifo.js'

interface Flow<T> {
  items: Fifo<Entry<T>>
  /** Items not withdrawn. */
  live: number
}

export interface Entry<T> {
  readonly flow: string
  readonly value: T
  /** True once withdrawn or taken. */
  done: boolean
}

export class FairQueue<T> {
  // Flows with live items, in the order of their next turn (the first one is served next).
  readonly #flows = new Map<string, Flow<T>>()
  #size = 0

  /** Items waiting, all flows together. */
  get size (): number { return this.#size }
  /** Flows with at least one item waiting. */
  get flows (): number { return this.#flows.size }
  /** Items waiting in one flow. */
  flowSize (flow: string): number { return this.#flows.get(flow)?.live ?? 0 }

  push (flow: string, value: T): Entry<T> {
    let state = this.#flows.get(flow)
    if (state === undefined) {
      state = { items: new Fifo(), live: 0 }
      this.#flows.set(flow, state)
    }
    const entry: Entry<T> = { flow, value, done: false }
    state.items.push(entry)
    state.live++
    this.#size++
    return entry
  }

  /** The next item in round-robin order, or undefined when none waits. */
  shift (): Entry<T> | undefined {
    for (const [key, state] of this.#flows) {
      const entry = this.#takeFrom(state)
      // The flow goes to the back of the turn order, or away when it is empty.
      this.#flows.delete(key)
      if (state.live > 0) this.#flows.set(key, state)
      if (entry !== undefined) return entry
    }
    return undefined
  }

  /** Withdraws a waiting item (its client left); false when it was taken or withdrawn already. */
  cancel (entry: Entry<T>): boolean {
    if (entry.done) return false
    entry.done = true
    const state = this.#flows.get(entry.flow)
    if (state === undefined) return false
    state.live--
    this.#size--
    if (state.live === 0) this.#flows.delete(entry.flow)
    return true
  }

  #takeFrom (state: Flow<T>): Entry<T> | undefined {
    for (let entry = state.items.shift(); entry !== undefined; entry = state.items.shift()) {
      if (entry.done) continue
      entry.done = true
      state.live--
      this.#size--
      return entry
    }
    return undefined
  }
}
