// What `serve` needs beyond valid settings, checked before anything listens and by `config` (the
// same pre-flight): ORO_SECRET in prod, a usable ORO_DB_URL, readable topic files, a drain delay
// shorter than the shutdown timeout. Every problem is returned, not just the first.
import { ConfigError, collect } from './errors.js'
import { parseDatabaseUrl } from '../auth/database-url.js'
import { loadTopicRules } from '../topics/load.js'
import type { LoadedConfig } from './load.js'
import type { Mode } from '../logger.js'

export function checkServeRequirements (loaded: LoadedConfig, mode: Mode): ConfigError[] {
  const problems: ConfigError[] = []
  const { gateway } = loaded
  if (mode === 'prod' && gateway.secret === undefined) {
    problems.push(new ConfigError('ORO_SECRET', 'is not set; --env=prod needs it to verify the tickets of WebSocket clients', 'ORO_SECRET=<the secret of your Oro application>'))
  }
  if (gateway.databaseUrl !== undefined) {
    collect(problems, () => parseDatabaseUrl(gateway.databaseUrl as string), undefined)
  }
  if (gateway.drainDelayMs >= gateway.shutdownTimeoutMs) {
    problems.push(new ConfigError('ORO_WEBSOCKET_DRAIN_DELAY', `(${gateway.drainDelayMs / 1000} s) must be shorter than the shutdown timeout (${gateway.shutdownTimeoutMs / 1000} s)`, 'ORO_WEBSOCKET_DRAIN_DELAY=1 with --shutdown-timeout 10'))
  }
  const topics = collect(problems, () => loadTopicRules(topicSources(loaded)), undefined)
  if (topics !== undefined) loaded.topics = topics
  return problems
}

/** Where the topic rules come from: ORO_WEBSOCKET_TOPICS and --app-root (absolute). */
export function topicSources (loaded: LoadedConfig): Parameters<typeof loadTopicRules>[0] {
  const topics = loaded.settings.ORO_WEBSOCKET_TOPICS
  return {
    // The file as written (errors name it so), resolved against the app root or the working directory.
    cwd: loaded.topicsBase,
    ...(topics !== undefined && topics !== '' ? { topicsFile: topics } : {}),
    ...(loaded.appRoot !== undefined ? { appRoot: loaded.appRoot } : {})
  }
}
