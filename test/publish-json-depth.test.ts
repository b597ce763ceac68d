import { test } from 'tap'
import { nestsDeeperThan } from '../src/publish/json-depth.js'

test('nesting depth is measured without recursion; brackets inside strings do not count', async (t) => {
  t.equal(nestsDeeperThan('{"a":[1,{"b":2}]}', 3), false)
  t.equal(nestsDeeperThan('{"a":[1,{"b":2}]}', 2), true)
  t.equal(nestsDeeperThan('"[[[[["', 1), false, 'a string of brackets')
  t.equal(nestsDeeperThan('["\\"[[[", 1]', 1), false, 'an escaped quote does not end the string')
  t.equal(nestsDeeperThan('["\\\\", [[1]]]', 2), true, 'an escaped backslash does end it')
  const depth = 200_000
  t.equal(nestsDeeperThan('['.repeat(depth) + ']'.repeat(depth), 100), true, 'any depth, no stack overflow')
  t.equal(nestsDeeperThan('[]'.repeat(depth), 1), false, 'many siblings are not depth')
})
