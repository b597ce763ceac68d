// The house's one-way rule (../shared/style.md, README's Layout): src/ is the library without
// Fastify; plugins/ and routes/ wire it in; the composition root (app.ts, server.ts, cli.ts) sits
// beside them. Nothing in src/ may import upward or import the framework.
import { test } from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Every module a file names: static imports and exports, and import() with a literal. */
export function specifiers (text: string): string[] {
  const found: string[] = []
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"\n;]*?(?:from\s*)?['"]([^'"]+)['"]/g)) found.push(match[1] as string)
  for (const match of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1] as string)
  return found
}

// @fastify/error only makes Error classes with a code and a status (the GW_ERR_* table, as
// Fastify's own FST_ERR_* are made); it brings no framework with it.
const FRAMEWORK = /^(fastify|fastify-plugin|@fastify\/(?!error$).+)$/

test('src/ imports neither plugins/, routes/, the composition root nor Fastify', async (t) => {
  const files = sources(join(root, 'src'))
  t.ok(files.length > 50, `${files.length} files read`)
  const offences: string[] = []
  for (const file of files) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const where = relative(root, file)
      if (FRAMEWORK.test(spec)) offences.push(`${where} imports ${spec}`)
      if (spec.startsWith('.')) {
        const target = relative(root, resolve(dirname(file), spec))
        if (!target.startsWith('src/')) offences.push(`${where} imports ${target} (outside src/)`)
      }
    }
  }
  t.same(offences, [], 'no upward or framework imports in src/')
})

test('the check catches what it is for', async (t) => {
  t.same(specifiers("import fp from 'fastify-plugin'\nexport { x } from '../plugins/a.js'\nconst m = await import('../routes/b.js')"), ['fastify-plugin', '../plugins/a.js', '../routes/b.js'])
  t.ok(FRAMEWORK.test('fastify') && FRAMEWORK.test('@fastify/websocket') && !FRAMEWORK.test('@fastify/error'))
})

test('the composition root is at the top, beside plugins/ and routes/', async (t) => {
  for (const file of ['app.ts', 'server.ts', 'cli.ts']) {
    const text = readFileSync(join(root, file), 'utf8')
    t.ok(specifiers(text).every((s) => !s.startsWith('../')), `${file} imports nothing above the project`)
  }
  t.ok(specifiers(readFileSync(join(root, 'app.ts'), 'utf8')).some((s) => s.startsWith('./plugins/')), 'app.ts composes the plugins')
})

test('the stats the hot paths count into load no prom-client (it can be loaded at the first scrape)', async (t) => {
  const seen = new Set<string>()
  const offences: string[] = []
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (spec === 'prom-client') offences.push(`${relative(root, file)} imports prom-client`)
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec).replace(/\.js$/, '.ts'))
    }
  }
  visit(join(root, 'src', 'stats.ts'))
  t.ok(seen.size >= 2, `${seen.size} files followed`)
  t.same(offences, [])
})
