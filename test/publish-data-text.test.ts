import { test } from 'tap'
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
