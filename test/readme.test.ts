import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { configurationTable } from '../src/config/table.js'
import { COMMON_OPTIONS } from '../src/cli/options.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

test('the README\'s configuration table is the schema\'s', async (t) => {
  t.ok(readme.includes(configurationTable()), 'README.md holds the table printed by `npm run --silent docs:config`')
})

test('the README documents every command-line flag and the quick start', async (t) => {
  for (const [name, option] of Object.entries(COMMON_OPTIONS)) {
    t.match(readme, new RegExp(`--${name}\\b`), `--${name}`)
    if ('short' in option) t.match(readme, new RegExp(`-${option.short}\\b`), `-${option.short}`)
  }
  t.match(readme, /npm ci && npm start/)
  t.match(readme, /npm ci && npm test/)
})
