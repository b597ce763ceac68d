// Which variable names Oro's database (ORO_DB_DSN when set, as Oro's Doctrine connection takes
// it, else ORO_DB_URL) and where its value came from: the `database:` line of `config`.
import { originLabel, type LoadedConfig } from '../config/load.js'

export interface DatabaseSource {
  /** The variable the gateway reads Oro's database from. */
  setting: 'ORO_DB_DSN' | 'ORO_DB_URL'
  /** Where its value came from (environment, a file, ...). */
  source: string
  /** As written in .env-app, when only a reference: `${ORO_DB_URL}`. */
  reference?: string
}

/** Null when neither is set. */
export function databaseSource (loaded: LoadedConfig): DatabaseSource | null {
  const { databaseUrl, databaseSetting } = loaded.gateway
  if (databaseUrl === undefined) return null
  return {
    setting: databaseSetting,
    source: originLabel(loaded.origins[databaseSetting]),
    ...(databaseSetting === 'ORO_DB_DSN' && loaded.databaseReference !== undefined ? { reference: loaded.databaseReference } : {})
  }
}

export function describeDatabase (database: DatabaseSource | null): string {
  if (database === null) return 'not set (ORO_DB_DSN, ORO_DB_URL): anonymous tickets only'
  const written = database.reference !== undefined ? `, written ${database.setting}=${database.reference}` : ''
  return `${database.setting} (${database.source}${written})`
}
