// docs/auth.md states the digest as Oro computes it and gives a worked example: recompute the
// example from the documented formula (written here with node:crypto alone), so the document
// cannot drift from the algorithm, and check the gateway's own code agrees.
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { oroDigest, saltedInput } from '../src/auth/digest.js'
import { parseTicket } from '../src/auth/ticket-format.js'
import { makeOroTicket } from '../src/cli/ticket-command.js'

const doc = readFileSync(new URL('../docs/auth.md', import.meta.url), 'utf8')

function row (name: string): string {
  const match = new RegExp(`^\\| ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\| \`([^\`]+)\` \\|$`, 'm').exec(doc)
  if (match === null) throw new Error(`docs/auth.md has no example row "${name}"`)
  return match[1] as string
}

// The documented formula, step by step.
function documentedDigest (nonce: string, created: string, password: string, secret: string): string {
  const salted = Buffer.from(`${nonce}|${created}|${password}{${secret}}`, 'utf8')
  let d = createHash('sha512').update(salted).digest()
  for (let i = 0; i < 4999; i++) d = createHash('sha512').update(Buffer.concat([d, salted])).digest()
  return d.toString('base64')
}

test('the worked example in docs/auth.md follows from the documented formula', async (t) => {
  const secret = row('ORO_SECRET')
  const nonce = row('nonce')
  const created = row('created')
  const hash = row('user `alice`, password hash')
  t.match(doc, /repeat 4999 times: {2}d = sha512\(d \+ salted\)/, 'the formula is stated')

  const anonymous = documentedDigest(nonce, created, secret, secret)
  t.equal(anonymous, row('anonymous digest'), 'anonymous digest')
  t.equal(Buffer.from(`${anonymous};;${nonce};${created}`).toString('base64'), row('anonymous ticket'))
  const alice = documentedDigest(nonce, created, hash, secret)
  t.equal(alice, row('alice\'s digest'), 'a user\'s digest uses the password hash')
  t.equal(Buffer.from(`${alice};alice;${nonce};${created}`).toString('base64'), row('alice\'s ticket'))
  t.equal(alice.length, 88)

  // The gateway computes and reads the same.
  t.equal(oroDigest(saltedInput(nonce, created, secret, secret)), anonymous)
  t.equal(makeOroTicket(secret, 'alice', hash, created, nonce), row('alice\'s ticket'), 'the ticket command makes the documented ticket')
  t.match(parseTicket(row('alice\'s ticket')), { username: 'alice', nonce, created })
})
