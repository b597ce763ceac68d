// The round-robin queue under admission (src/auth/fair-queue.ts): order, withdrawal, sizes.
import { test } from 'tap'
import { FairQueue } from '../src/auth/fair-queue.js'

test('one item per flow per turn, in the order flows first waited', async (t) => {
  const q = new FairQueue<string>()
  for (const v of ['a1', 'a2', 'a3']) q.push('a', v)
  q.push('b', 'b1')
  q.push('c', 'c1'); q.push('c', 'c2')
  t.equal(q.size, 6)
  t.equal(q.flows, 3)
  t.equal(q.flowSize('a'), 3)
  const order: string[] = []
  for (let e = q.shift(); e !== undefined; e = q.shift()) order.push(e.value)
  t.same(order, ['a1', 'b1', 'c1', 'a2', 'c2', 'a3'])
  t.equal(q.size, 0)
  t.equal(q.flows, 0)
  t.equal(q.shift(), undefined)
})

test('a withdrawn item is skipped and no longer counted; withdrawing twice or after its turn does nothing', async (t) => {
  const q = new FairQueue<string>()
  const a1 = q.push('a', 'a1')
  const a2 = q.push('a', 'a2')
  const b1 = q.push('b', 'b1')
  t.equal(q.cancel(a1), true)
  t.equal(q.cancel(a1), false)
  t.equal(q.size, 2)
  t.equal(q.flowSize('a'), 1)
  t.equal(q.cancel(b1), true)
  t.equal(q.flows, 1, 'a flow with nothing left is gone')
  t.equal(q.shift()?.value, 'a2')
  t.equal(q.cancel(a2), false, 'taken already')
  t.equal(q.size, 0)
})

test('a long-lived busy flow stays compact and in order', async (t) => {
  const q = new FairQueue<number>()
  let next = 0
  let expected = 0
  let outOfOrder = 0
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 100; i++) q.push('busy', next++)
    for (let i = 0; i < 90; i++) if (q.shift()?.value !== expected++) outOfOrder++
  }
  t.equal(outOfOrder, 0, '4,500 taken in order across compactions')
  t.equal(q.size, 500)
  t.equal(q.flowSize('busy'), 500)
})
