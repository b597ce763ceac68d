// One node, no transport: a publication goes straight to the local hub.
import type { Broker, Publication, PublishReceipt } from './broker.js'
import type { Hub } from './hub.js'

export class MemoryBroker implements Broker {
  readonly #hub: Hub
  constructor (hub: Hub) {
    this.#hub = hub
  }

  async publish (publication: Publication): Promise<PublishReceipt> {
    return { recipients: this.#hub.broadcast(publication) }
  }

  subscribe (_topic: string): void {}
  unsubscribe (_topic: string): void {}
  readiness (): string { return 'ok' }
  async close (): Promise<void> {}
}
