// The Broker carries publications between gateway nodes (Centrifuge's model): the memory broker
// for one node, the Redis broker for many. The node-local Hub stays the same whichever is used;
// the broker tells the node which topics to hear about and hands it every publication once.

export interface Publication {
  topic: string
  /** The payload as JSON text, passed through to subscribers as it is. */
  payload: string
  /** Session ids that must not receive it (any node's). */
  exclude?: readonly string[] | null
  /** When non-empty, only these session ids may receive it. */
  eligible?: readonly string[] | null
  /**
   * Set for a publication made under an Idempotency-Key: nodes drop a second message with the
   * same id (within the idempotency window), so a retry after an unknown outcome is safe.
   */
  id?: string
}

/** Hands a publication to the node (the hub queues it; nothing to wait for). */
export type PublicationHandler = (publication: Publication) => void

// Failures: publish and publishBatch reject with GW_ERR_BROKER_UNAVAILABLE only when nothing was
// delivered for certain (the broker was down or closed, the command was never sent, Redis refused
// it), and with GW_ERR_PUBLISH_OUTCOME_UNKNOWN when it may have been (sent, then no answer).
export interface Broker {
  /** Accepts a publication for every node; resolves once the transport has taken it. */
  publish (publication: Publication): Promise<PublishReceipt>
  /**
   * Accepts several publications, in order, all or none where the transport allows it (memory,
   * a single Redis: MULTI); resolves once the transport has taken them all.
   */
  publishBatch (publications: readonly Publication[]): Promise<PublishReceipt>
  /** This node has its first local subscriber for the topic. */
  subscribe (topic: string): void
  /** This node's last local subscriber of the topic left. */
  unsubscribe (topic: string): void
  /** 'ok' or why the broker cannot take publications now (for /readyz). */
  readiness (): string
  close (): Promise<void>
}

export interface PublishReceipt {
  /** Sessions the event was written to, when the broker can know it (the memory broker does). */
  recipients?: number
}
