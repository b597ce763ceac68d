// The README's configuration table, made from the schema (so the two cannot disagree; a test
// checks the README holds this exact table).
import { settingNames, settingSchema } from './schema.js'

export function configurationTable (): string {
  const rows = settingNames.map((name) => {
    const s = settingSchema(name)
    const def = s.default === undefined ? '(not set)' : `\`${String(s.default)}\``
    return `| \`${name}\` | ${def} | \`${s.example}\` | ${s.description} |`
  })
  return ['| variable | default | example | what it does |', '|---|---|---|---|', ...rows].join('\n')
}
