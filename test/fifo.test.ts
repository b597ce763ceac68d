import { test } from 'tap'
import { Fifo } from '../src/fifo.js'

test('first in, first out; at() looks without taking; empty gives undefined', async (t) => {
  const q = new Fifo<number>()
  t.equal(q.shift(), undefined)
  for (let i = 0; i < 5; i++) q.push(i)
  t.equal(q.length, 5)
  t.equal(q.at(0), 0)
  t.equal(q.at(4), 4)
  t.equal(q.at(5), undefined)
  t.equal(q.shift(), 0)
  t.equal(q.at(0), 1, 'at() counts from the oldest left')
  t.same(q.takeAll(), [1, 2, 3, 4])
  t.equal(q.length, 0)
  t.equal(q.shift(), undefined)
})

test('a queue that never empties keeps its order across compactions', async (t) => {
  const q = new Fifo<number>()
  let next = 0
  let expected = 0
  for (let round = 0; round < 10_000; round++) {
    q.push(next++)
    q.push(next++)
    for (let i = 0; i < 2; i++) {
      const got = q.shift()
      if (got !== expected) t.fail(`${String(got)} where ${expected} was due`)
      expected++
    }
    q.push(next++)
  }
  t.equal(q.length, 10_000)
  t.equal(q.at(0), expected)
})

test('retain keeps the chosen items in order', async (t) => {
  const q = new Fifo<number>()
  for (let i = 0; i < 10; i++) q.push(i)
  q.shift()
  q.retain((n) => n % 3 === 0)
  t.same(q.takeAll(), [3, 6, 9])
})
