import { test } from 'tap'
import { WampProtocolError, decodeClientMessage, expandCurie, rawElement } from '../src/wamp/codec.js'

// A small deterministic generator, so a failure can be replayed.
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 0x100000000 }
}

function randomJson (r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 5 : 7))
  switch (pick) {
    case 0: return null
    case 1: return r() < 0.5
    case 2: return Math.floor(r() * 1e6) / (r() < 0.5 ? 1 : 7)
    case 3: return Array.from({ length: Math.floor(r() * 6) }, () => String.fromCharCode(Math.floor(r() * 0x2ff))).join('') + (r() < 0.3 ? '"\\[]{},' : '')
    case 4: return ''
    case 5: return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1))
    default: return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [`k${i}"[`, randomJson(r, depth + 1)]))
  }
}

function spaced (r: () => number, json: string): string {
  // White space after , : [ { (inside strings too: that changes the strings, which is fine, the
  // test compares with JSON.parse of the same text).
  return json.replace(/([,:[{])/g, (m) => m + ' '.repeat(Math.floor(r() * 3)))
}

test('rawElement returns exactly the text of an element, whatever it holds', async (t) => {
  const r = rng(42)
  let checked = 0
  for (let i = 0; i < 3000; i++) {
    const array = [7, 'topic', randomJson(r), randomJson(r)]
    const text = spaced(r, JSON.stringify(array))
    const parsed = JSON.parse(text) as unknown[]
    for (const index of [0, 1, 2, 3]) {
      const raw = rawElement(text, index)
      if (JSON.stringify(JSON.parse(raw)) !== JSON.stringify(parsed[index])) t.fail(`element ${index} of ${text}: got ${raw}`)
      if (raw !== raw.trim()) t.fail('no surrounding white space')
      checked++
    }
  }
  t.equal(checked, 12000, 'all elements round-trip')
})

test('the decoder never throws anything but a protocol error, whatever it is sent', async (t) => {
  const r = rng(7)
  const alphabet = '[]{}",:0123456789.-eEtrufalsn \\u7' + 'ü€'
  let unexpected = 0
  let decoded = 0
  for (let i = 0; i < 20000; i++) {
    const text = i % 2 === 0
      ? Array.from({ length: Math.floor(r() * 40) }, () => alphabet[Math.floor(r() * alphabet.length)]).join('')
      : JSON.stringify([Math.floor(r() * 10), ...Array.from({ length: Math.floor(r() * 5) }, () => randomJson(r))])
    try {
      decodeClientMessage(text)
      decoded++
    } catch (err) {
      if (!(err instanceof WampProtocolError)) { unexpected++; t.fail(`${text}: ${String(err)}`) }
    }
  }
  t.equal(unexpected, 0)
  t.ok(decoded > 0, `${decoded} of the random frames were valid messages`)
})

test('CURIEs', async (t) => {
  const prefixes = new Map([['ev', 'http://example.com/event'], ['h', 'http://example.com/x#']])
  t.equal(expandCurie('ev:created', prefixes), 'http://example.com/event#created')
  t.equal(expandCurie('http://example.com/event#created', prefixes), 'http://example.com/event#created')
  t.equal(expandCurie('oro/data/update', prefixes), 'oro/data/update')
  t.equal(expandCurie('other:x', prefixes), 'other:x')
  t.equal(expandCurie('ev:x', null), 'ev:x')
})

// Ratchet 0.4's WampConnection::getUri, case by case (oro-compat §2).
test('CURIEs as Ratchet expands them', async (t) => {
  const prefixes = new Map([['ev', 'http://example.com/event'], ['h', 'http://example.com/x#'], ['', 'urn:empty']])
  t.equal(expandCurie('h:y', prefixes), 'http://example.com/x##y', 'a base ending in # gets another # (Ratchet always adds one)')
  t.equal(expandCurie('ev:see-http://example.com/', prefixes), 'ev:see-http://example.com/', 'http:// anywhere: left as it is')
  t.equal(expandCurie('ev:https://x', prefixes), 'ev:https://x', 'https:// anywhere: left as it is')
  t.equal(expandCurie('ev:httpss://x', prefixes), 'ev:httpss://x', 'Ratchet\'s pattern is http(s*)://')
  t.equal(expandCurie('ev:HTTP://x', prefixes), 'http://example.com/event#HTTP://x', 'the pattern is case-sensitive')
  t.equal(expandCurie('ev:a:b', prefixes), 'http://example.com/event#a:b', 'ours on purpose: the rest after the first colon is kept (Ratchet drops ":b")')
  t.equal(expandCurie(':x', prefixes), 'urn:empty#x', 'an empty prefix, when declared')
  t.equal(expandCurie('ev:', prefixes), 'http://example.com/event#', 'an empty rest')
})
