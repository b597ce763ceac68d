#!/usr/bin/env node
// oro-websocket-gateway <command>: serve (the WebSocket server), config (the effective settings),
// help. Configuration errors print one line on stderr and exit 1 before anything listens.
import { parseCommonOptions } from './cli/options.js'
import { renderConfig } from './cli/config-command.js'
import { loadConfig } from './config/load.js'
import { ConfigError } from './config/errors.js'
import { flush, serve } from './server.js'
import { version } from './version.js'
import { CommandError, publishCommand } from './cli/publish-command.js'
import { nginxCommand } from './cli/nginx-command.js'


const HELP = `oro-websocket-gateway ${version}: a drop-in WebSocket server for Oro applications

Usage: oro-websocket-gateway <command> [options]

Commands:
  serve     run the gateway (replaces: php bin/console gos:websocket:server)
  config    print the effective configuration and where each value comes from
  publish TOPIC [DATA] [--url URL] [--key KEY] [--exclude ID]... [--eligible ID]... [--idempotency-key K]
            POST one event to a running gateway (DATA is JSON, or read from stdin)
  nginx [--tls] [--upstream N] [--server-name NAME] [--ssl-certificate F] [--ssl-certificate-key F]
            print the nginx blocks (location, upstream, TLS server) for the effective DSNs
  help      print this text

Options:
  --env=prod|dev         mode (default prod); dev logs more and is what "npm start" uses
  -v, -vv, -vvv          more log output (prod: notice, info, debug; dev: debug)
  -q, --quiet            errors only
  -a, --host HOST        listen on HOST instead of the ORO_WEBSOCKET_SERVER_DSN host
  -p, --port PORT        listen on PORT instead of the ORO_WEBSOCKET_SERVER_DSN port
  --app-root DIR         the Oro application's root: its .env-app and .env-app.local are read
  --parameters FILE      a legacy Oro parameters.yml (websocket_* keys)
  --shutdown-timeout S   seconds a graceful shutdown may take (default 10)
  --drain-delay S        seconds between SIGTERM and closing the listener (default 1)
  --json                 config: print JSON
  -h, --help             this text
  --version              the version

Settings come from (lowest first): defaults, .env-app, .env-app.local, --parameters, the
environment, flags. See README.md for every setting.
`

async function main (argv: string[]): Promise<number> {
  if (argv[0] === '--version') {
    process.stdout.write(version + '\n')
    return 0
  }
  const command = argv[0] === undefined || argv[0].startsWith('-') ? 'help' : argv[0]
  const rest = argv.slice(command === argv[0] ? 1 : 0)
  if (command === 'publish' && !rest.includes('--help') && !rest.includes('-h')) {
    process.stdout.write(await publishCommand(rest, {
      env: process.env,
      cwd: process.cwd(),
      stdinIsTTY: process.stdin.isTTY === true,
      readStdin: async () => { let text = ''; for await (const chunk of process.stdin) text += String(chunk); return text }
    }))
    return 0
  }
  if (command === 'nginx' && !rest.includes('--help') && !rest.includes('-h')) {
    process.stdout.write(nginxCommand(rest, process.env, process.cwd()))
    return 0
  }
  const options = parseCommonOptions(rest, process.env, process.cwd())
  if (options.help || command === 'help') {
    process.stdout.write(HELP)
    return command === 'help' || options.help ? 0 : 1
  }
  if (options.positionals.length > 0 && command !== 'publish') {
    throw new ConfigError('command line', `has unexpected arguments: ${options.positionals.join(' ')}`, `oro-websocket-gateway ${command} --env=prod`)
  }
  switch (command) {
    case 'config': {
      process.stdout.write(renderConfig(loadConfig(options.load), options.json))
      return 0
    }
    case 'serve': {
      const running = await serve(options)
      if (typeof running === 'number') return running
      installCrashHandlers(running.logger)
      const code = await running.done
      await flush(running.logger)
      return code
    }
    default:
      throw new ConfigError('command line', `has an unknown command "${command}"`, 'oro-websocket-gateway serve (see oro-websocket-gateway help)')
  }
}

function installCrashHandlers (logger: { fatal: (obj: object, msg: string) => void, flush: (cb?: (err?: Error) => void) => void }): void {
  // Errors that reach the top are logged, then the process exits: its state is unknown, and a
  // supervisor restarts it. Bad input never gets here; it is answered where it arrives.
  const crash = (kind: string) => (err: unknown): void => {
    logger.fatal({ err }, `${kind}: the gateway stops`)
    logger.flush(() => process.exit(1))
    setTimeout(() => process.exit(1), 1000).unref()
  }
  process.on('uncaughtException', crash('uncaught exception'))
  process.on('unhandledRejection', crash('unhandled promise rejection'))
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
  // Open handles (pools, timers) must not keep a finished command alive.
  setImmediate(() => process.exit(code))
}, (err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(err.line() + '\n')
  } else if (err instanceof CommandError) {
    process.stderr.write(`${err.code}: ${err.message}\n`)
  } else if (typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('GW_ERR_')) {
    process.stderr.write(`${(err as { code: string }).code}: ${(err as Error).message}\n`)
  } else {
    process.stderr.write(`GW_ERR_INTERNAL: ${(err as Error)?.stack ?? String(err)}\n`)
  }
  process.exit(1)
})
