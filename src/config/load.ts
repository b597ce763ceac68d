// Gathers the settings from their sources, lowest first: defaults < Oro's .env-app files
// (.env-app, .env-app.local, .env-app.<ORO_ENV>, .env-app.<ORO_ENV>.local, or the dumped
// .env-app.local.php: env-files.ts) < --parameters file < environment < command-line flags;
// validates them against the schema (here, once: the app does not validate them again) and turns
// them into the gateway's configuration, frozen (freeze.ts). Every problem is a ConfigError naming its source,
// and all of them are reported together. With a mode, `serve`'s own requirements are checked
// too (requirements.ts), so `config` is the same pre-flight check as a start.
// ORO_SECRET, ORO_DB_URL and ORO_DB_DSN set but empty count as unset in every source (a compose
// file's `ORO_SECRET: ${ORO_SECRET}` left blank must not hide the value of a lower source).
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { readEnvFiles } from './env-files.js'
import envSchema from 'env-schema'
import { ConfigError, collect, throwProblems } from './errors.js'
import { configSchema, settingNames, settingSchema, type SettingName, type Settings } from './schema.js'
import { readParametersFile } from './parameters-yml.js'
import { expandReferences } from './expand.js'
import { gatherGatewayConfig, type GatewayConfig } from './gateway-config.js'
import { checkServeRequirements } from './requirements.js'
import { deepFreeze } from './freeze.js'
import { loadListenerTls } from '../tls/context-options.js'
import type { LoadedTopics } from '../topics/load.js'
import type { Mode } from '../logger.js'

export type Origin =
  | { kind: 'default' }
  | { kind: 'unset' }
  | { kind: 'environment' }
  | { kind: 'file', file: string }
  | { kind: 'parameters', file: string, keys: string[] }
  | { kind: 'flag', flag: string }

export interface LoadOptions {
  env: Record<string, string | undefined>
  cwd: string
  /** --app-root: the Oro application whose .env-app files are read. */
  appRoot?: string
  /** --parameters: a legacy Oro parameters.yml. */
  parametersFile?: string
  /** Settings given as flags (e.g. --shutdown-timeout), with the flag's name. */
  flags?: Partial<Record<SettingName, { value: string, flag: string }>>
  /** --host / --port: override the SERVER DSN's host and port. */
  listen?: { host?: string, port?: string }
  /** When given, also what `serve` needs in this mode (ORO_SECRET in prod, readable topics files, ...). */
  mode?: Mode
  /**
   * `serve --env=dev`: POST /publish's key when ORO_WEBSOCKET_PUBLISH_KEYS sets none (made at
   * start, so that the `publish` command works out of the box); resolved here, before the
   * configuration is frozen.
   */
  devPublishKey?: string
}

export interface LoadedConfig {
  settings: Settings
  /** The raw values handed to the schema, as gathered (strings). */
  values: Partial<Record<SettingName, string>>
  origins: Record<SettingName, Origin>
  gateway: GatewayConfig
  /** Where relative paths (ORO_WEBSOCKET_TOPICS) are resolved. */
  cwd: string
  /** --app-root, resolved, when given. */
  appRoot: string | undefined
  /** ORO_WEBSOCKET_TOPICS as an absolute path: a relative one from .env-app* or --parameters is relative to the app root. */
  topicsFile: string | undefined
  /** The directory ORO_WEBSOCKET_TOPICS is relative to (the app root, or the working directory). */
  topicsBase: string
  /** The topic rules, when the serve requirements were checked (they were loaded for it). */
  topics?: LoadedTopics
  /** The .env-app files read (absolute paths), lowest first; empty when there were none. */
  envFiles: string[]
  /** Where .env-app was looked for: --app-root, or the working directory. */
  envDir: string
  /** ORO_DB_DSN as written in its .env-app file when that is only a reference (`${ORO_DB_URL}`). */
  databaseReference: string | undefined
}

/** Set but empty is the same as not set: a lower source's value stands. */
const EMPTY_IS_UNSET: ReadonlySet<SettingName> = new Set(['ORO_SECRET', 'ORO_DB_URL', 'ORO_DB_DSN'])

export function loadConfig (options: LoadOptions): LoadedConfig {
  const values: Partial<Record<SettingName, string>> = {}
  const origins = {} as Record<SettingName, Origin>
  for (const name of settingNames) {
    origins[name] = settingSchema(name).default === undefined ? { kind: 'unset' } : { kind: 'default' }
  }
  const set = (name: SettingName, value: string, origin: Origin): void => {
    if (value.trim() === '' && EMPTY_IS_UNSET.has(name)) return
    values[name] = value
    origins[name] = origin
  }

  const problems: ConfigError[] = []
  const root = resolve(options.cwd, options.appRoot ?? '.')
  if (options.appRoot !== undefined && !existsSync(root)) {
    problems.push(new ConfigError(`--app-root ${options.appRoot}`, `does not exist (${root})`, '--app-root /var/www/oroapp'))
  }
  // The files as Oro's bootstrap reads them (env-files.ts; the later wins), then their $VAR
  // references, then our settings from them.
  const { values: fileValues, fileOf, files: envFiles, problems: fileProblems } = readEnvFiles(root, options.env)
  for (const { file, reason } of fileProblems) problems.push(new ConfigError(file, reason))
  const legacy = options.parametersFile === undefined
    ? {}
    : collect(problems, () => readParametersFile(resolve(options.cwd, options.parametersFile as string), options.parametersFile), {})
  // A reference in the files (Oro's `ORO_DB_DSN=${ORO_DB_URL}`) takes the value that wins over the
  // files' own: the environment's, else --parameters' (which outranks the files).
  const outranking: Record<string, string | undefined> = {}
  for (const [setting, dsn] of Object.entries(legacy) as Array<[SettingName, { value: string }]>) outranking[setting] = dsn.value
  for (const [name, value] of Object.entries(options.env)) if (value !== undefined) outranking[name] = value
  for (const name of EMPTY_IS_UNSET) if (outranking[name]?.trim() === '') delete outranking[name]
  const expanded = expandReferences(fileValues, outranking)
  for (const setting of settingNames) {
    const value = expanded[setting]
    if (value !== undefined) set(setting, value, { kind: 'file', file: fileOf[setting] as string })
  }
  const dsnText = fileValues.ORO_DB_DSN?.trim()
  const databaseReference = dsnText !== undefined && /^\$(\{[A-Za-z_]\w*\}|[A-Za-z_]\w*)$/.test(dsnText) ? dsnText : undefined

  if (options.parametersFile !== undefined) {
    for (const [setting, dsn] of Object.entries(legacy) as Array<[SettingName, { value: string, keys: string[] }]>) {
      set(setting, dsn.value, { kind: 'parameters', file: options.parametersFile, keys: dsn.keys })
    }
  }

  for (const setting of settingNames) {
    const value = options.env[setting]
    if (value !== undefined) set(setting, value, { kind: 'environment' })
  }

  for (const [setting, flag] of Object.entries(options.flags ?? {}) as Array<[SettingName, { value: string, flag: string }]>) {
    set(setting, flag.value, { kind: 'flag', flag: flag.flag })
  }

  const settings = validate(values, origins, problems)
  const gateway = gatherGatewayConfig(settings, (name) => describeOrigin(name, origins[name]), options.listen ?? {}, problems)
  // Certificates are read and checked now: a bad one stops the start (and fails `config --check`).
  const listeners = [['ORO_WEBSOCKET_SERVER_DSN', gateway.server.tls], ['ORO_WEBSOCKET_PUBLISH_LISTEN', gateway.publish.listen?.tls ?? null], ['ORO_WEBSOCKET_METRICS_LISTEN', gateway.metrics.listen?.tls ?? null]] as const
  for (const [name, tls] of listeners) {
    if (tls === null) continue
    tls.base = pathBase(origins[name], root, options.cwd)
    const server = collect(problems, () => loadListenerTls(tls, tls.base as string), undefined)
    if (server !== undefined) tls.server = server
  }
  if (options.devPublishKey !== undefined && gateway.publish.keys.length === 0) {
    gateway.publish.keys = [options.devPublishKey]
    gateway.publish.devKey = options.devPublishKey
  }
  const topics = settings.ORO_WEBSOCKET_TOPICS
  const loaded: LoadedConfig = {
    settings,
    values,
    origins,
    gateway,
    cwd: options.cwd,
    appRoot: options.appRoot === undefined ? undefined : root,
    topicsFile: topics === undefined || topics === '' ? undefined : resolve(pathBase(origins.ORO_WEBSOCKET_TOPICS, root, options.cwd), topics),
    topicsBase: pathBase(origins.ORO_WEBSOCKET_TOPICS, root, options.cwd),
    envFiles,
    envDir: root,
    databaseReference: origins.ORO_DB_DSN.kind === 'file' ? databaseReference : undefined
  }
  // A disabled server (empty SERVER DSN host) runs nothing, so it needs nothing (Oro exits 0 too).
  if (options.mode !== undefined && gateway.server.enabled) problems.push(...checkServeRequirements(loaded, options.mode))
  throwProblems(problems)
  // Read, never written, from here on (the app, the CLI's commands): a write throws.
  return deepFreeze(loaded)
}

/** Relative paths in the application's files mean the application's root; elsewhere the working directory. */
function pathBase (origin: Origin, root: string, cwd: string): string {
  return origin.kind === 'file' || origin.kind === 'parameters' ? root : cwd
}

let plainSchema: Record<string, unknown> | null = null

/**
 * The schema as plain JSON Schema: our annotations (example, secret) removed for ajv's strict
 * mode. One object for the process, so ajv compiles it once (it caches by the schema object).
 */
function validationSchema (): Record<string, unknown> {
  if (plainSchema !== null) return plainSchema
  const properties: Record<string, unknown> = {}
  for (const name of settingNames) {
    const { example: _example, secret: _secret, ...rest } = settingSchema(name)
    properties[name] = rest
  }
  // env-schema sets it on the object it is given; set here, it is the same each time.
  plainSchema = { type: 'object', properties, required: [...configSchema.required], additionalProperties: false }
  return plainSchema
}

/**
 * Checks every setting against the schema: the one validation of the settings (env-schema, the
 * validator inside @fastify/env, with its ajv options). A bad one is reported and its default
 * stands in: only then is the schema applied a second time, to the others, so that the checks
 * that follow still run and every problem is reported in one round.
 */
function validate (values: Partial<Record<SettingName, string>>, origins: Record<SettingName, Origin>, problems: ConfigError[]): Settings {
  // Empty strings mean "not set" for optional settings, as in a shell `FOO=` line.
  const data: Record<string, string> = {}
  for (const [name, value] of Object.entries(values) as Array<[SettingName, string]>) {
    if (value === '' && settingSchema(name).type !== 'string') continue
    data[name] = value
  }
  try {
    return envSchema({ schema: validationSchema(), data, env: false }) as unknown as Settings
  } catch (err) {
    // env-schema's ajv reports every error (allErrors): one line per bad setting.
    const errors = (err as { errors?: Array<{ instancePath: string, message?: string }> }).errors ?? []
    const bad = new Set<SettingName>()
    for (const error of errors) {
      const name = error.instancePath.replace(/^\//, '') as SettingName
      if (!settingNames.includes(name)) throw err
      if (bad.has(name)) continue
      bad.add(name)
      const origin = origins[name]
      const example = origin.kind === 'flag' ? `${origin.flag} ${settingSchema(name).example}` : `${name}=${settingSchema(name).example}`
      problems.push(new ConfigError(describeOrigin(name, origin), `= "${values[name] ?? ''}" ${error.message ?? 'is invalid'}`, example))
    }
    if (bad.size === 0) throw err
    for (const name of bad) delete data[name]
    return envSchema({ schema: validationSchema(), data, env: false }) as unknown as Settings
  }
}

/** "ORO_WEBSOCKET_SERVER_DSN (from .env-app.local)" and the like, for error lines. */
export function describeOrigin (name: SettingName, origin: Origin): string {
  switch (origin.kind) {
    case 'environment': return name
    case 'file': return `${name} (in ${origin.file})`
    case 'parameters': return `${origin.file}: ${origin.keys.join(', ') || name}`
    case 'flag': return origin.flag
    default: return name
  }
}

export function originLabel (origin: Origin): string {
  switch (origin.kind) {
    case 'default': return 'default'
    case 'unset': return 'not set'
    case 'environment': return 'environment'
    case 'file': return origin.file
    case 'parameters': return `${origin.file} (${origin.keys.join(', ')})`
    case 'flag': return `flag ${origin.flag}`
  }
}
