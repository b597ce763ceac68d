// `oro-websocket-gateway config --check`: once the settings pass, connect to what they name and
// say what was found: Oro's user table (how many users), Oro's application URL (the origin
// browsers come from) and the broker. The probes are the doctor's (src/check/); URLs are shown
// masked, so no password reaches the output.
import { DatabaseProbeError, probeDatabase } from '../check/database.js'
import { pingBroker } from '../check/broker.js'
import { maskUrl } from '../config/mask.js'
import { originLabel, type LoadedConfig } from '../config/load.js'

export interface CheckLine {
  ok: boolean
  /** Not a failure (the exit code stays 0), but something to look at. */
  warn?: boolean
  text: string
}

const TIMEOUT_MS = 3000

export async function checkConnections (loaded: LoadedConfig): Promise<CheckLine[]> {
  const [database, broker] = await Promise.all([checkDatabase(loaded), checkBroker(loaded)])
  return [...database, broker]
}

export function renderCheck (lines: CheckLine[]): string {
  return '\n' + lines.map((l) => `${!l.ok ? 'FAIL' : l.warn === true ? 'warn' : 'ok  '}  ${l.text}`).join('\n') + '\n'
}

async function checkDatabase (loaded: LoadedConfig): Promise<CheckLine[]> {
  const url = loaded.gateway.databaseUrl
  if (url === undefined) return [{ ok: true, text: 'database: ORO_DB_URL is not set (nor ORO_DB_DSN); only anonymous tickets can be verified' }]
  const table = loaded.settings.ORO_WEBSOCKET_USER_TABLE
  const password = passwordOf(url)
  const differ = databaseVariablesDiffer(loaded)
  try {
    const found = await probeDatabase(url, table, TIMEOUT_MS, loaded.gateway.databaseSetting)
    return [
      ...differ,
      { ok: true, text: `database ${found.display}: table ${table} readable, ${found.users} users` },
      {
        ok: true,
        text: found.applicationUrl !== undefined
          ? `application URL: ${found.applicationUrl} (oro_ui.application_url in oro_config_value)`
          : 'application URL: not found (no oro_config_value table, or no global oro_ui.application_url)'
      }
    ]
  } catch (err) {
    if (!(err instanceof DatabaseProbeError)) throw err
    const what = err.stage === 'connect' ? 'cannot connect' : `table ${table} (ORO_WEBSOCKET_USER_TABLE) cannot be read`
    return [...differ, { ok: false, text: `database ${err.display}: ${what}: ${hide(err.message, password)}; ${err.failure.hint}` }]
  }
}

/**
 * ORO_DB_DSN and ORO_DB_URL both set, to different databases: the gateway (like Oro's Doctrine
 * connection) uses ORO_DB_DSN, but whoever set ORO_DB_URL may expect that one.
 */
function databaseVariablesDiffer (loaded: LoadedConfig): CheckLine[] {
  const dsn = loaded.settings.ORO_DB_DSN
  const url = loaded.settings.ORO_DB_URL
  if (dsn === undefined || url === undefined || dsn === '' || url === '' || dsn.trim() === url.trim()) return []
  const from = (name: 'ORO_DB_DSN' | 'ORO_DB_URL'): string => originLabel(loaded.origins[name])
  return [{
    ok: true,
    warn: true,
    text: `database: ORO_DB_DSN (${maskUrl(dsn)}, ${from('ORO_DB_DSN')}) and ORO_DB_URL (${maskUrl(url)}, ${from('ORO_DB_URL')}) differ; ` +
      'the gateway uses ORO_DB_DSN, as Oro\'s Doctrine connection does (database_dsn); set both to the same database, or remove the one that is wrong'
  }]
}

async function checkBroker (loaded: LoadedConfig): Promise<CheckLine> {
  const target = loaded.gateway.broker.target
  if (target.kind === 'memory') return { ok: true, text: 'broker: memory:// (this node only; nothing to connect to)' }
  const shown = maskUrl(loaded.settings.ORO_WEBSOCKET_BROKER_DSN)
  try {
    const pong = await pingBroker(target, TIMEOUT_MS)
    return { ok: true, text: `broker ${shown}: reachable (PING answered ${pong})` }
  } catch (err) {
    const message = ((err as Error).message ?? String(err)).split('\n')[0] ?? ''
    const secrets = [target.password, target.kind === 'sentinel' ? target.sentinelPassword : undefined]
    return { ok: false, text: `broker ${shown}: not reachable (${secrets.reduce<string>((text, s) => hide(text, s), message)}); check ORO_WEBSOCKET_BROKER_DSN and that Redis runs` }
  }
}

function passwordOf (url: string): string | undefined {
  const at = url.lastIndexOf('@')
  const start = url.indexOf('://')
  if (at === -1 || start === -1 || at < start) return undefined
  const userInfo = url.slice(start + 3, at)
  const colon = userInfo.indexOf(':')
  return colon === -1 ? undefined : userInfo.slice(colon + 1)
}

/** Drivers may quote what they were given: the password, as written or decoded, never shows. */
function hide (text: string, secret: string | undefined): string {
  if (secret === undefined || secret === '') return text
  let out = text
  for (const form of new Set([secret, safeDecode(secret)])) if (form !== '') out = out.split(form).join('***')
  return out
}

function safeDecode (text: string): string {
  try { return decodeURIComponent(text) } catch { return text }
}
