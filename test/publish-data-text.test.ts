import { test } from 'tap'
import { isDeepStrictEqual } from 'node:util'
import { publicationDataTexts } from '../src/publish/data-text.js'

test('the text of each publication\'s data, exactly as written', async (t) => {
  const cases: Array<[string, Array<string | undefined>]> = [
    ['{"topic":"t","data":1}', ['1']],
    [' { "data" :\n [ 1 , {"a":"]"} ] , "topic":"t" } ', ['[ 1 , {"a":"]"} ]']],
    ['[{"topic":"t","data":"x\\\\"},{"data":{"k":"\\"}{"},"topic":"u"}]', ['"x\\\\"', '{"k":"\\"}{"}']],
    ['[{"topic":"t","data":18446744073709551617}, 5, {"topic":"t"}, {"d\\u0061ta":true}]', ['18446744073709551617', undefined, undefined, 'true']],
    ['{"data":1,"data":[2]}', ['[2]']],
    ['{"topic":"t","exclude":["a\\"b"],"data":null}', ['null']],
    ['[]', []],
    ['{}', [undefined]]
  ]
  for (const [body, expected] of cases) {
    JSON.parse(body) // only valid JSON is scanned
    t.same(publicationDataTexts(body), expected, body)
  }
})

// Differential check against JSON.parse over generated bodies (a fixed seed: the same bodies every
// run): strings full of escapes, braces and quotes, "data" keys nested and escaped, repeated keys,
// JSON's four whitespace characters anywhere. Each text must be the publisher's own (a slice of
// the body) and parse to the value the route validated.
test('generated bodies: each data text is a slice of the body and parses to the validated value', async (t) => {
  let seed = 20261205
  const random = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const ws = (): string => pick([' ', '\n', '\t', '\r', '', '', ''])
  const string = (): string => {
    let s = ''
    for (let n = Math.floor(random() * 5); n > 0; n--) s += pick(['a', '\\"', '\\\\', '\\u0041', '\\n', '}', ']', ',', ':', '{', '[', '\\/', '\\\\\\"', 'é', '\\ud83d\\ude00'])
    return `"${s}"`
  }
  const value = (depth: number): string => {
    const r = random()
    if (depth > 3 || r < 0.35) return pick([string(), '1', '-0.5e3', 'true', 'null', 'false', '12345678901234567890', '1.0', '-0'])
    const n = Math.floor(random() * 4)
    const items: string[] = []
    for (let i = 0; i < n; i++) {
      items.push(r < 0.6 ? ws() + value(depth + 1) + ws() : ws() + pick(['"data"', '"data"', '"d\\u0061ta"', '"topic"', string()]) + ws() + ':' + ws() + value(depth + 1) + ws())
    }
    return r < 0.6 ? `[${items.join(',')}${ws()}]` : `{${items.join(',')}${ws()}}`
  }
  let checked = 0
  let mismatches = 0
  for (let round = 0; round < 20_000; round++) {
    const elements: string[] = []
    for (let n = 1 + Math.floor(random() * 3); n > 0; n--) elements.push(ws() + value(0) + ws())
    const body = random() < 0.3 ? (elements[0] as string) : `${ws()}[${elements.join(',')}]${ws()}`
    let parsed: unknown
    try { parsed = JSON.parse(body) } catch { continue }
    const publications = Array.isArray(parsed) ? parsed : [parsed]
    const texts = publicationDataTexts(body)
    publications.forEach((publication: unknown, i) => {
      if (publication === null || typeof publication !== 'object' || Array.isArray(publication) || !Object.hasOwn(publication, 'data')) return
      checked++
      const text = texts[i]
      let same = false
      try { same = text !== undefined && body.includes(text) && isDeepStrictEqual(JSON.parse(text), (publication as { data: unknown }).data) } catch {}
      if (!same && mismatches++ < 3) t.fail(`publication ${i} of ${JSON.stringify(body)}: ${String(text)}`)
    })
  }
  t.equal(mismatches, 0)
  t.ok(checked > 5000, `${checked} data members checked`)
})
