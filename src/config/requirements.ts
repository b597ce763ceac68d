// What `serve` needs beyond valid settings, checked before anything listens and by `config` (the
// same pre-flight): ORO_SECRET in prod, no publish key that is an example's placeholder in prod,
// a usable ORO_DB_URL, readable topic files, a drain delay shorter than the shutdown timeout.
// Every problem is returned, not just the first.
import { ConfigError, collect } from './errors.js'
import { parseDatabaseUrl } from '../auth/database-url.js'
import { loadTopicRules } from '../topics/load.js'
import { describeOrigin, type LoadedConfig } from './load.js'
import type { Mode } from '../logger.js'
import { PLACEHOLDER_PUBLISH_KEYS } from '../publish/keys.js'

export function checkServeRequirements (loaded: LoadedConfig, mode: Mode): ConfigError[] {
  const problems: ConfigError[] = []
  const { gateway } = loaded
  if (mode === 'prod' && gateway.secret === undefined) {
    problems.push(secretMissing(loaded, '--env=prod needs it to verify the tickets of WebSocket clients'))
  }
  if (mode === 'prod') {
    for (const key of gateway.publish.keys) {
      const example = PLACEHOLDER_PUBLISH_KEYS.get(key)
      if (example === undefined) continue
      problems.push(new ConfigError('ORO_WEBSOCKET_PUBLISH_KEYS', `holds the placeholder of ${example} (${key}): anyone who read that file could publish to every page; ` +
        'set a long random key, or leave ORO_WEBSOCKET_PUBLISH_KEYS out (Oro\'s backend publishes over WebSocket; POST /publish is then off)', 'ORO_WEBSOCKET_PUBLISH_KEYS="$(openssl rand -base64 32)"'))
    }
  }
  if (gateway.databaseUrl !== undefined) {
    const setting = gateway.databaseSetting
    collect(problems, () => parseDatabaseUrl(gateway.databaseUrl as string, describeOrigin(setting, loaded.origins[setting])), undefined)
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

/**
 * "ORO_SECRET is not set", with where it was looked for: the usual cause is a start without
 * --app-root in a directory that is not the Oro application's (no .env-app read at all).
 */
export function secretMissing (loaded: LoadedConfig, why: string): ConfigError {
  const example = 'ORO_SECRET=<the secret of your Oro application>'
  if (loaded.envFiles.length === 0) {
    const where = loaded.appRoot === undefined
      ? `no .env-app was read in the working directory ${loaded.envDir}: give the Oro application's root with --app-root (e.g. --app-root=/var/www/oroapp), which reads its .env-app files, or set ORO_SECRET`
      : `no .env-app was read in ${loaded.envDir} (--app-root): is it the Oro application's root (the directory holding .env-app)? Or set ORO_SECRET`
    return new ConfigError('ORO_SECRET', `is not set; ${why}; ${where}`, example)
  }
  return new ConfigError('ORO_SECRET', `is not set; ${why}; neither ${loaded.envFiles.join(' nor ')} nor the environment set it (empty counts as not set)`, example)
}
