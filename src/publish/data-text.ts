// The JSON text of each publication's `data` in a POST /publish body, exactly as the publisher
// wrote it, so that subscribers receive it as it came (as WAMP publishes are passed through):
// re-serialising the parsed value would change integers above 2^53, `1.0`, escapes. Runs only on
// a body JSON.parse accepted (on anything else it gives up without throwing, and the route falls
// back to serialising the parsed value): it finds where each value starts and ends, jumping over
// strings with indexOf.

const QUOTE = 34 // "
const BACKSLASH = 92
const OPEN_BRACE = 123
const CLOSE_BRACE = 125
const OPEN_BRACKET = 91
const CLOSE_BRACKET = 93
const COMMA = 44
const COLON = 58

function skipSpace (text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i)
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i
    i++
  }
}

/** The index after the string starting at i (its opening quote). */
function skipString (text: string, i: number): number {
  let at = i + 1
  for (;;) {
    const quote = text.indexOf('"', at)
    if (quote === -1) return text.length // not valid JSON (never: the parser accepted it)
    // A quote preceded by an odd number of backslashes is escaped.
    let backslashes = 0
    for (let j = quote - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++
    if (backslashes % 2 === 0) return quote + 1
    at = quote + 1
  }
}

/** The index after the value starting at i. */
function skipValue (text: string, i: number): number {
  const c = text.charCodeAt(i)
  if (c === QUOTE) return skipString(text, i)
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0
    for (;;) {
      if (i >= text.length) return i
      const d = text.charCodeAt(i)
      if (d === QUOTE) {
        i = skipString(text, i)
        continue
      }
      if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++
      else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
        depth--
        if (depth === 0) return i + 1
      }
      i++
    }
  }
  // A number, true, false or null: up to the next delimiter.
  for (;;) {
    const d = text.charCodeAt(i)
    if (Number.isNaN(d) || d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d === 32 || d === 10 || d === 13 || d === 9) return i
    i++
  }
}

/** The text of the object's `data` member (the last one, as JSON.parse keeps), and where the object ends. */
function objectData (text: string, i: number): { data: string | undefined, end: number } {
  let data: string | undefined
  i = skipSpace(text, i + 1)
  if (text.charCodeAt(i) === CLOSE_BRACE) return { data, end: i + 1 }
  for (;;) {
    if (i >= text.length) return { data, end: i }
    const keyEnd = skipString(text, i)
    // Written plainly almost always; an escaped key ("d\u0061ta") is decoded.
    const key = text.slice(i + 1, keyEnd - 1)
    const name = key.includes('\\') ? JSON.parse(text.slice(i, keyEnd)) as string : key
    i = skipSpace(text, keyEnd)
    if (text.charCodeAt(i) !== COLON) return { data: undefined, end: text.length } // not valid JSON (never)
    const start = skipSpace(text, i + 1)
    const end = skipValue(text, start)
    if (name === 'data') data = text.slice(start, end)
    i = skipSpace(text, end)
    if (text.charCodeAt(i) === COMMA) {
      i = skipSpace(text, i + 1)
      continue
    }
    return { data, end: i + 1 }
  }
}

/**
 * For a body that is one publication object or an array of them (valid JSON), the text of each
 * one's `data` (undefined where an element is not an object or has none), in order.
 */
export function publicationDataTexts (text: string): Array<string | undefined> {
  let i = skipSpace(text, 0)
  if (text.charCodeAt(i) === OPEN_BRACE) return [objectData(text, i).data]
  const texts: Array<string | undefined> = []
  if (text.charCodeAt(i) !== OPEN_BRACKET) return texts
  i = skipSpace(text, i + 1)
  if (text.charCodeAt(i) === CLOSE_BRACKET) return texts
  for (;;) {
    if (text.charCodeAt(i) === OPEN_BRACE) {
      const { data, end } = objectData(text, i)
      texts.push(data)
      i = end
    } else {
      texts.push(undefined)
      i = skipValue(text, i)
    }
    i = skipSpace(text, i)
    if (text.charCodeAt(i) !== COMMA) return texts
    i = skipSpace(text, i + 1)
  }
}
