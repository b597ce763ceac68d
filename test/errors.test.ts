import { test } from 'tap'
import { readFileSync } from 'node:fs'
import * as errors from '../src/errors.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

test('each error export is named after its code, has a status and a message', async (t) => {
  const entries = Object.entries(errors)
  t.ok(entries.length > 0)
  for (const [name, Ctor] of entries) {
    t.match(name, /^GW_ERR_[A-Z_]+$/, `${name} is a GW_ERR_* name`)
    const error = new (Ctor as new (...args: unknown[]) => Error & { code: string, statusCode: number })('a', 'b', 'c')
    t.equal(error.code, name, `${name}'s code`)
    t.ok(error.statusCode >= 400 && error.statusCode < 600, `${name} has an HTTP status`)
    t.ok(error.message.length > 20, `${name} says something`)
  }
})

test('the README\'s error table lists every code with its status', async (t) => {
  for (const [name, Ctor] of Object.entries(errors)) {
    const status = new (Ctor as new () => { statusCode: number })().statusCode
    t.match(readme, new RegExp(`^\\|\\s*\`${name}\`\\s*\\|\\s*${status}\\b`, 'm'), `${name} (${status}) is in the README's table`)
  }
})
