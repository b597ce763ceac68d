// `oro-websocket-gateway config`: the effective configuration, each value with where it came
// from, secrets masked. What an operator runs first when the gateway does not do what they expect.
import { settingNames, settingSchema, type SettingName } from '../config/schema.js'
import { originLabel, type LoadedConfig } from '../config/load.js'
import { formatDsnUrl } from '../config/dsn.js'
import { maskQuerySecrets, maskSecretValue } from '../config/mask.js'
import type { LoadedRule } from '../topics/rule.js'
import { databaseSource, describeDatabase } from './database-source.js'

export interface ConfigEntry {
  name: SettingName
  value: string | number | boolean | null
  source: string
}

export function maskSecret (name: SettingName, value: string | number | boolean | undefined): string | number | boolean | null {
  if (value === undefined) return null
  // DSNs are not secret, but a key passphrase in their context options is.
  if (settingSchema(name).secret !== true) return typeof value === 'string' ? maskQuerySecrets(value) : value
  // A URL keeps its shape (which database, which host) with the password hidden.
  return maskSecretValue(String(value))
}

export function configEntries (loaded: LoadedConfig): ConfigEntry[] {
  return settingNames.map((name) => ({
    name,
    value: maskSecret(name, loaded.settings[name]),
    source: originLabel(loaded.origins[name])
  }))
}

function hostPort (host: string, port: number): string {
  const local = ['0.0.0.0', '::', '*', ''].includes(host) ? '127.0.0.1' : host
  return `${local.includes(':') ? `[${local}]` : local}:${port}`
}

export function effectiveUrls (loaded: LoadedConfig): { listen: string, frontend: string, backend: string, publish: string } {
  const { server, frontend, backend, publish } = loaded.gateway
  return {
    listen: server.enabled ? `${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}` : 'disabled (ORO_WEBSOCKET_SERVER_DSN has no host)',
    frontend: formatDsnUrl(frontend, frontend.scheme === 'wss' || frontend.scheme === 'https' || frontend.port === 443 ? 'wss' : 'ws', '<page host>'),
    backend: formatDsnUrl(backend, backend.scheme, '127.0.0.1'),
    publish: `${(publish.listen !== null ? publish.listen.tls : server.tls) !== null ? 'https' : 'http'}://${publish.listen !== null ? hostPort(publish.listen.host, publish.listen.port) : hostPort(server.host, server.port)}/publish`
  }
}

/** Every topic route in effect: its policy, the file it came from and why it has that policy. */
export function renderTopics (rules: readonly LoadedRule[]): string[] {
  const width = Math.min(56, Math.max(...rules.map((r) => r.topic.length)))
  const policy = (r: LoadedRule): string => r.policy === 'unknown' ? 'unknown (closed to browsers)' : r.policy
  const policyWidth = Math.max(...rules.map((r) => policy(r).length))
  return ['topic routes (policy, file, why):', ...rules.map((r) =>
    `  ${r.topic.padEnd(width)}  ${policy(r).padEnd(policyWidth)}  ${r.source}${r.replaces !== undefined ? ` (replaces ${r.replaces})` : ''}${r.policyFrom !== undefined ? `: ${r.policyFrom}` : ''}`)]
}

export function renderConfig (loaded: LoadedConfig, json: boolean, check?: Array<{ ok: boolean, text: string }>): string {
  const entries = configEntries(loaded)
  const urls = effectiveUrls(loaded)
  // Loaded by the pre-flight check (config runs serve's); absent when a topics file failed (listed as a problem).
  const topics = loaded.topics?.loaded
  const database = databaseSource(loaded)
  if (json) return JSON.stringify({ settings: entries, ...urls, database, ...(topics !== undefined ? { topics } : {}), ...(check !== undefined ? { check } : {}) }, null, 2) + '\n'
  const width = Math.max(...entries.map((e) => e.name.length))
  const valueWidth = Math.min(48, Math.max(...entries.map((e) => String(e.value ?? '(not set)').length)))
  const lines = entries.map((e) => `${e.name.padEnd(width)}  ${String(e.value ?? '(not set)').padEnd(valueWidth)}  ${e.source}`)
  lines.push('', `listens on:     ${urls.listen}`, `browsers use:   ${urls.frontend}`, `backend uses:   ${urls.backend}`, `publish API:    ${urls.publish}`, `database:       ${describeDatabase(database)}`)
  if (topics !== undefined && topics.length > 0) lines.push('', ...renderTopics(topics))
  return lines.join('\n') + '\n'
}
