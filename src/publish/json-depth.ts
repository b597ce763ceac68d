// How deeply a JSON text nests, found without recursion. JSON.parse takes any depth, but
// JSON.stringify and every recursive walk of the value overflow the stack past some thousands of
// levels (a RangeError, a 500); the publish API refuses such bodies before parsing them.

/** Deepest nesting of a publish body (the body's own array and object included); Oro's payloads nest 3. */
export const MAX_JSON_DEPTH = 100

/** True when the text's arrays and objects nest deeper than `limit` (strings are skipped). */
export function nestsDeeperThan (text: string, limit: number): boolean {
  // Valid JSON nesting past the limit needs limit + 1 openings and as many closings; shorter text
  // is either within it or malformed (JSON.parse refuses it). Most publications are that short.
  if (text.length < 2 * (limit + 1)) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // a backslash escapes the next character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b || c === 0x7b) { // [ {
      if (++depth > limit) return true
    } else if (c === 0x5d || c === 0x7d) { // ] }
      depth--
    }
  }
  return false
}
