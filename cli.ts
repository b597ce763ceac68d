#!/usr/bin/env node
// oro-websocket-gateway <command>: serve (the WebSocket server), config (the effective settings,
// a pre-flight check), ticket, publish, nginx, help. Configuration errors print one line each on
// stderr and exit 1 before anything listens; usage mistakes exit 2.
import { parseCommonOptions, usageError } from './src/cli/options.js'
import { renderConfig } from './src/cli/config-command.js'
import { loadConfig } from './src/config/load.js'
import { configErrorLines } from './src/config/errors.js'
import { version } from './src/version.js'
import { CommandError, publishCommand } from './src/cli/publish-command.js'
import { nginxCommand } from './src/cli/nginx-command.js'

// The heavy modules (Fastify, database and Redis clients) load only for the command that needs
// them: a usage mistake or `config` answers at once.
const lazy = {
  server: async () => await import('./server.js'),
  configCheck: async () => await import('./src/cli/config-check.js'),
  ticket: async () => await import('./src/cli/ticket-command.js'),
  doctor: async () => await import('./src/cli/doctor-command.js')
}
import { waitReadyCommand } from './src/cli/wait-ready-command.js'


const HELP = `oro-websocket-gateway ${version}: a drop-in WebSocket server for Oro applications

Usage: oro-websocket-gateway <command> [options]

Commands:
  serve     run the gateway (replaces: php bin/console gos:websocket:server)
  config [--json] [--check]
            check the configuration as serve does (exit 1 listing every problem) and print it,
            each value with its source; --check also connects to the database and the broker
  ticket [--user NAME]
            print a ticket the gateway accepts (anonymous, or NAME's from Oro's database)
  publish TOPIC [DATA] [--url URL] [--key KEY] [--exclude ID]... [--eligible ID]... [--idempotency-key K]
            POST one event to a running gateway (DATA is JSON, or read from stdin)
  nginx [--tls] [--upstream N] [--server-name NAME] [--ssl-certificate F] [--ssl-certificate-key F]
        [--proxy-ssl-trusted-certificate CA] [--proxy-ssl-name NAME]
            print the nginx blocks (location, upstream, TLS server) for the effective DSNs;
            a gateway with TLS of its own is forwarded to over https:// (checked against CA)
  check [--url URL] [--origin ORIGIN] [--key KEY] [--timeout S]
            check a running gateway as Oro and its browsers use it; one line per step, exit 0 when all pass
  wait-ready [--timeout S]
            wait until the gateway of this configuration answers /healthz (systemd ExecStartPost;
            over https with the SERVER DSN's certificate, pinned)
  help      print this text

Options:
  --env=prod|dev         mode (default prod); dev logs more and is what "npm start" uses
  -v, -vv, -vvv          more log output (prod: notice, info, debug; dev: debug)
  -q, --quiet            errors only
  -a, --host HOST        listen on HOST instead of the ORO_WEBSOCKET_SERVER_DSN host
  -p, --port PORT        listen on PORT instead of the ORO_WEBSOCKET_SERVER_DSN port
  --app-root DIR         the Oro application's root: its .env-app files are read as Oro reads them
  --parameters FILE      a legacy Oro parameters.yml (websocket_* keys)
  --shutdown-timeout S   seconds a graceful shutdown may take (default 10)
  --drain-delay S        seconds between SIGTERM and closing the other listeners (default 1;
                         the WebSocket one stops taking connections at once)
  --json                 config: print JSON
  --check                config: connect to the database and the broker too
  -h, --help             this text
  -V, --version          the version

Exit codes: 0 done, 1 a configuration or runtime error (GW_ERR_* line on stderr),
2 a usage mistake (GW_ERR_USAGE), 3 serve: WebSocket is off (an empty ORO_WEBSOCKET_SERVER_DSN
or host, as in Oro's stock .env-app), nothing to run.

Settings come from (lowest first): defaults, the .env-app files (.env-app, .env-app.local,
.env-app.$ORO_ENV, .env-app.$ORO_ENV.local, or .env-app.local.php), --parameters, the
environment, flags. See README.md for every setting.
`

async function main (argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(version + '\n')
    return 0
  }
  if (argv.length === 0) {
    // No command is a usage mistake: say what the commands are, and fail.
    process.stderr.write(HELP)
    return 2
  }
  const command = (argv[0] as string).startsWith('-') ? 'help' : argv[0] as string
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
  if (command === 'check' && !rest.includes('--help') && !rest.includes('-h')) {
    const report = await (await lazy.doctor()).checkCommand(rest, process.env, process.cwd())
    process.stdout.write(report.text)
    return report.code
  }
  if (command === 'wait-ready' && !rest.includes('--help') && !rest.includes('-h')) {
    process.stdout.write(await waitReadyCommand(rest, process.env, process.cwd()))
    return 0
  }
  if (command === 'nginx' && !rest.includes('--help') && !rest.includes('-h')) {
    process.stdout.write(nginxCommand(rest, process.env, process.cwd()))
    return 0
  }
  if (command === 'ticket' && !rest.includes('--help') && !rest.includes('-h')) {
    const { ticket, note } = await (await lazy.ticket()).ticketCommand(rest, process.env, process.cwd())
    process.stderr.write(note + '\n')
    process.stdout.write(ticket + '\n')
    return 0
  }
  const options = parseCommonOptions(rest, process.env, process.cwd())
  if (options.help || command === 'help') {
    process.stdout.write(HELP)
    return 0
  }
  if (!['serve', 'config'].includes(command)) {
    throw usageError(`unknown command "${command.slice(0, 40)}"`, 'oro-websocket-gateway serve')
  }
  if (options.positionals.length > 0) {
    throw usageError(`unexpected arguments: ${options.positionals.join(' ').slice(0, 80)}`, `oro-websocket-gateway ${command} --env=prod`)
  }
  switch (command) {
    case 'config': {
      // The same checks as serve (options.load carries the mode), every problem listed.
      const loaded = loadConfig(options.load)
      const check = options.check ? await lazy.configCheck() : undefined
      const lines = check !== undefined ? await check.checkConnections(loaded) : []
      process.stdout.write(options.json
        ? renderConfig(loaded, true, options.check ? lines : undefined)
        : renderConfig(loaded, false) + (check !== undefined ? check.renderCheck(lines) : ''))
      return lines.every((l) => l.ok) ? 0 : 1
    }
    case 'serve': {
      const { flush, serve } = await lazy.server()
      const running = await serve(options)
      if (typeof running === 'number') return running
      installCrashHandlers(running.logger)
      const code = await running.done
      await flush(running.logger)
      return code
    }
    default:
      return 2
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
  const lines = configErrorLines(err)
  if (lines !== undefined) {
    process.stderr.write(lines.join('\n') + '\n')
  } else if ((err as { code?: unknown })?.code === 'GW_ERR_USAGE') {
    process.stderr.write(`GW_ERR_USAGE: ${(err as Error).message}\n`)
    process.exit(2)
  } else if (err instanceof CommandError) {
    process.stderr.write(`${err.code}: ${err.message}\n`)
  } else if (typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('GW_ERR_')) {
    // A database failure's detail is kept out of HTTP answers, not out of the operator's terminal.
    const detail = (err as { detail?: unknown }).detail
    process.stderr.write(`${(err as { code: string }).code}: ${(err as Error).message}${typeof detail === 'string' ? ` (${detail})` : ''}\n`)
  } else {
    process.stderr.write(`GW_ERR_INTERNAL: ${(err as Error)?.stack ?? String(err)}\n`)
  }
  process.exit(1)
})
