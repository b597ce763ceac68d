// Worker thread entry of the digest pool: answers { id, salted } with { id, digest }.
import { parentPort } from 'node:worker_threads'
import { oroDigest } from './digest.js'

export interface DigestRequest { id: number, salted: string }
export interface DigestReply { id: number, digest: string }

parentPort?.on('message', (request: DigestRequest) => {
  const reply: DigestReply = { id: request.id, digest: oroDigest(request.salted) }
  parentPort?.postMessage(reply)
})
