// What a failed Redis command says about delivery. Only a failure that proves Redis did not take
// the command may be answered "nothing was delivered" (503): the command was never written (the
// connection was not writable), or Redis answered with an error. A command that was written and
// then timed out, or whose connection closed before the answer, may still be executed by Redis
// (it sits in the socket buffers of a frozen Redis): its outcome is unknown (504).
import { ReplyError } from 'ioredis'
import { GW_ERR_BROKER_UNAVAILABLE, GW_ERR_PUBLISH_OUTCOME_UNKNOWN } from '../errors.js'

/** ioredis rejects with this, before writing anything, when the connection is not writable. */
const NOT_WRITTEN = "Stream isn't writeable"

/** True when Redis itself answered (with an error): the command certainly did nothing. */
export function isRedisReply (err: unknown): boolean {
  return err instanceof ReplyError
}

export function wasNeverSent (err: unknown): boolean {
  return err instanceof Error && err.message.startsWith(NOT_WRITTEN)
}

/**
 * The error to answer for a failed publication. `delivered` counts the publications of the same
 * request that Redis already confirmed (Redis Cluster publishes a batch one by one): after one,
 * "nothing was delivered" is no longer true whatever happened to the rest.
 */
export function publishFailure (err: unknown, delivered = 0): Error {
  const reason = `redis: ${(err as Error).message}`
  if (delivered > 0) return new GW_ERR_PUBLISH_OUTCOME_UNKNOWN(`${reason}; the first ${delivered} publication(s) of the batch were delivered`)
  if (isRedisReply(err) || wasNeverSent(err)) return new GW_ERR_BROKER_UNAVAILABLE(reason)
  return new GW_ERR_PUBLISH_OUTCOME_UNKNOWN(reason)
}
