// Oro's .env-app files, found as Oro's own bootstrap finds them: Symfony's Dotenv with the
// environment key ORO_ENV, `bootEnv('.env-app', 'prod', ['test'])` (oroinc/*-application
// config/bootstrap*.php; the files' header lists them):
// - `.env-app.local.php`, written by `composer dump-env prod` for production, is read instead of
//   all the others, unless the real environment's ORO_ENV names another environment than the
//   one it was dumped for;
// - otherwise `.env-app` (or `.env-app.dist` when there is none), `.env-app.local` (not when
//   ORO_ENV is test), `.env-app.<ORO_ENV>` and `.env-app.<ORO_ENV>.local` (neither when ORO_ENV is
//   local), each later file winning. ORO_ENV is the real environment's, else the files' so far,
//   else prod.
// Values are returned as written (references unexpanded); the dumped file's are final, so their
// `$` are escaped for the expansion that follows.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseDotenv } from 'dotenv'

export interface EnvFiles {
  /** Every variable the files set, as written; later files win. */
  values: Record<string, string>
  /** The file each variable's value came from. */
  fileOf: Record<string, string>
  /** The files read, in order (absolute paths). */
  files: string[]
  /** Files that exist but could not be read or parsed. */
  problems: Array<{ file: string, reason: string }>
}

const ENV_KEY = 'ORO_ENV'
const DEFAULT_ENV = 'prod'

export function readEnvFiles (root: string, env: Record<string, string | undefined>): EnvFiles {
  const result: EnvFiles = { values: {}, fileOf: {}, files: [], problems: [] }
  const dumped = join(root, '.env-app.local.php')
  if (existsSync(dumped)) {
    const values = readDumped(dumped, result)
    const realEnv = env[ENV_KEY]
    if (values !== undefined && (values[ENV_KEY] === undefined || realEnv === undefined || realEnv === values[ENV_KEY])) {
      for (const [key, value] of Object.entries(values)) add(result, dumped, key, value.replaceAll('$', '\\$'))
      result.files.push(dumped)
      return result
    }
  }
  const load = (name: string): void => {
    const file = join(root, name)
    if (!existsSync(file)) return
    let parsed: Record<string, string>
    try {
      parsed = parseDotenv(readFileSync(file))
    } catch (err) {
      result.problems.push({ file, reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` })
      return
    }
    result.files.push(file)
    for (const [key, value] of Object.entries(parsed)) add(result, file, key, value)
  }
  const current = (): string => env[ENV_KEY] ?? result.values[ENV_KEY] ?? DEFAULT_ENV
  load(existsSync(join(root, '.env-app')) || !existsSync(join(root, '.env-app.dist')) ? '.env-app' : '.env-app.dist')
  if (current() !== 'test') load('.env-app.local')
  const name = current()
  // Only a plain name makes a file name: ORO_ENV=../x reads nothing.
  if (name !== 'local' && /^[\w-]+$/.test(name)) {
    load(`.env-app.${name}`)
    load(`.env-app.${name}.local`)
  }
  return result
}

function add (result: EnvFiles, file: string, key: string, value: string): void {
  result.values[key] = value
  result.fileOf[key] = file
}

/**
 * `composer dump-env`'s file: `<?php return array ( 'NAME' => 'value', ... );` (PHP's
 * var_export: single-quoted strings, `\\` and `\'` escaped). Undefined when it is not that.
 */
function readDumped (file: string, result: EnvFiles): Record<string, string> | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    result.problems.push({ file, reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` })
    return undefined
  }
  const body = /return\s+(?:array\s*\(|\[)([\s\S]*?)(?:\)|\])\s*;\s*$/.exec(text.replace(/\?>\s*$/, ''))
  if (body === null) {
    result.problems.push({ file, reason: 'is not the array `composer dump-env` writes (return array (\'NAME\' => \'value\', ...);)' })
    return undefined
  }
  const values: Record<string, string> = {}
  const unquote = (quoted: string): string => quoted.replace(/\\([\\'])/g, '$1')
  for (const entry of (body[1] as string).matchAll(/'((?:[^'\\]|\\.)*)'\s*=>\s*'((?:[^'\\]|\\.)*)'/g)) {
    values[unquote(entry[1] as string)] = unquote(entry[2] as string)
  }
  return values
}
