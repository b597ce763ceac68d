// One node, no transport: a publication goes straight to the local hub.
import { GW_ERR_BROKER_UNAVAILABLE } from '../errors.js'
import type { Broker, Publication, PublishReceipt } from './broker.js'
import type { Hub } from './hub.js'

export class MemoryBroker implements Broker {
  readonly #hub: Hub
  #closed = false
  constructor (hub: Hub) {
    this.#hub = hub
  }

  async publish (publication: Publication): Promise<PublishReceipt> {
    if (this.#closed) throw new GW_ERR_BROKER_UNAVAILABLE('the broker is closed: the gateway is shutting down')
    // Resolves once written: at the end of this turn, merged with its others (hub.ts), or a later
    // turn during a large fan-out; the count stays true.
    const recipients = this.#hub.deliver(publication)
    return { recipients: typeof recipients === 'number' ? recipients : await recipients }
  }

  async publishBatch (publications: readonly Publication[]): Promise<PublishReceipt> {
    if (this.#closed) throw new GW_ERR_BROKER_UNAVAILABLE('the broker is closed: the gateway is shutting down')
    const recipients = this.#hub.deliverAll(publications)
    return { recipients: typeof recipients === 'number' ? recipients : await recipients }
  }

  subscribe (_topic: string): void {}
  unsubscribe (_topic: string): void {}
  readiness (): string { return this.#closed ? 'closed' : 'ok' }
  async close (): Promise<void> { this.#closed = true }
}
