// WAMP v1 (oro-compat §2): decoding of what clients send, encoding of what the server sends.
// A PUBLISH keeps its payload as the raw JSON text it arrived in, so subscribers get exactly
// those bytes and the server never re-serializes a payload.

export const WELCOME = 0
export const PREFIX = 1
export const CALL = 2
export const CALLRESULT = 3
export const CALLERROR = 4
export const SUBSCRIBE = 5
export const UNSUBSCRIBE = 6
export const PUBLISH = 7
export const EVENT = 8

export type ClientMessage =
  | { type: typeof PREFIX, prefix: string, uri: string }
  | { type: typeof CALL, callId: string, procUri: string }
  | { type: typeof SUBSCRIBE, topic: string }
  | { type: typeof UNSUBSCRIBE, topic: string }
  | { type: typeof PUBLISH, topic: string, payload: string, excludeMe: boolean, exclude: string[] | null, eligible: string[] | null }

/** Why a frame could not be understood: the close reason sent with 1007. */
export class WampProtocolError extends Error {
  readonly code = 'GW_ERR_WAMP_PROTOCOL'
}

export function decodeClientMessage (text: string): ClientMessage {
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    throw new WampProtocolError('invalid JSON')
  }
  if (!Array.isArray(message)) throw new WampProtocolError('a WAMP message must be a JSON array')
  const type: unknown = message[0]
  switch (type) {
    case PREFIX:
      return { type, prefix: stringAt(message, 1, 'PREFIX prefix'), uri: stringAt(message, 2, 'PREFIX uri') }
    case CALL:
      return { type, callId: stringAt(message, 1, 'CALL callId'), procUri: stringAt(message, 2, 'CALL procUri') }
    case SUBSCRIBE:
      return { type, topic: stringAt(message, 1, 'SUBSCRIBE topic') }
    case UNSUBSCRIBE:
      return { type, topic: stringAt(message, 1, 'UNSUBSCRIBE topic') }
    case PUBLISH:
      return decodePublish(text, message)
    default:
      throw new WampProtocolError(typeof type === 'number'
        ? `unknown or server-only message type ${type}`
        : 'a WAMP message must start with a numeric type id')
  }
}

function decodePublish (text: string, message: unknown[]): ClientMessage {
  const topic = stringAt(message, 1, 'PUBLISH topic')
  if (message.length < 3) throw new WampProtocolError('PUBLISH needs an event: [7, topic, event]')
  const payload = rawElement(text, 2)
  const third: unknown = message[3]
  if (message.length <= 3 || typeof third === 'boolean') {
    return { type: PUBLISH, topic, payload, excludeMe: third === true, exclude: null, eligible: null }
  }
  const exclude = stringListAt(message, 3, 'PUBLISH exclude')
  const eligible = message.length > 4 ? stringListAt(message, 4, 'PUBLISH eligible') : null
  return { type: PUBLISH, topic, payload, excludeMe: false, exclude, eligible }
}

function stringAt (message: unknown[], index: number, what: string): string {
  const value = message[index]
  if (typeof value !== 'string') throw new WampProtocolError(`${what} must be a string`)
  return value
}

function stringListAt (message: unknown[], index: number, what: string): string[] {
  const value = message[index]
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new WampProtocolError(`${what} must be a list of session ids or a boolean`)
  }
  return value as string[]
}

/**
 * The raw text of element `index` of the JSON array in `text` (already known to be valid JSON).
 * Scans once, tracking strings and nesting, so the payload's bytes pass through untouched.
 */
export function rawElement (text: string, index: number): string {
  let depth = 0
  let element = -1
  let start = -1
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) { // a string: skip to its closing quote
      i++
      while (i < text.length) {
        const s = text.charCodeAt(i)
        if (s === 0x5c) i += 2
        else if (s === 0x22) break
        else i++
      }
      continue
    }
    if (c === 0x5b || c === 0x7b) { // [ {
      depth++
      if (depth === 1) { element = 0; start = i + 1; continue }
    } else if (c === 0x5d || c === 0x7d) { // ] }
      if (depth === 1 && element === index) return text.slice(start, i).trim()
      depth--
    } else if (c === 0x2c && depth === 1) { // ,
      if (element === index) return text.slice(start, i).trim()
      element++
      start = i + 1
    }
  }
  throw new WampProtocolError(`element ${index} is missing`)
}

/** `[0,"<sessionId>",1,"<ident>"]`; its length is never 91 or 93 (see welcomeFrame). */
export function encodeWelcome (sessionId: string, ident: string): string {
  return `[${WELCOME},${JSON.stringify(sessionId)},1,${JSON.stringify(ident)}]`
}

/** `[8,"<topic>",<payload>]` with the payload's JSON text as it is. */
export function encodeEvent (topic: string, payloadJson: string): string {
  return `[${EVENT},${JSON.stringify(topic)},${payloadJson}]`
}

export function encodeCallError (callId: string, errorUri: string, description: string): string {
  return JSON.stringify([CALLERROR, callId, errorUri, description])
}

/** Ratchet's test for a full URI: `http://` or `https://` anywhere in it (preg `/http(s*)\:\/\//`, case-sensitive). */
const FULL_URI = /https*:\/\//

/**
 * CURIE expansion as Ratchet 0.4's WampConnection::getUri (oro-compat §2): a URI with no
 * `http://` or `https://` anywhere in it, with a `:` whose prefix (the text before the first `:`)
 * was declared with PREFIX, becomes `prefixes[prefix] + '#' + rest`; `#` is always added, so a
 * base that ends in `#` gets a second one, as in Ratchet. Anything else stays as it is.
 * One difference, on purpose: Ratchet takes `rest` from explode(':'), which keeps only the text up
 * to the second `:` (`p:a:b` -> `base#a`, the `:b` silently dropped, so `p:a:b` and `p:a:c` would
 * be one topic); here `rest` is everything after the first `:` (`base#a:b`). Oro never meets it:
 * its topics have no `:` and neither its browser code nor its PHP client sends PREFIX.
 */
export function expandCurie (uri: string, prefixes: Map<string, string> | null): string {
  if (prefixes === null) return uri
  const colon = uri.indexOf(':')
  if (colon === -1 || FULL_URI.test(uri)) return uri
  const base = prefixes.get(uri.slice(0, colon))
  if (base === undefined) return uri
  return `${base}#${uri.slice(colon + 1)}`
}
