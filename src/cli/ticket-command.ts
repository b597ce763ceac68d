// `oro-websocket-gateway ticket [--user NAME]`: prints a ticket the gateway accepts, made as Oro
// makes it (docs/auth.md), for trying a connection by hand: anonymous, or a user's, signed with
// the password hash read from Oro's database. Like `centrifugo gentoken`.
import { randomBytes } from 'node:crypto'
import { ConfigError } from '../config/errors.js'
import { loadConfig } from '../config/load.js'
import { secretMissing } from '../config/requirements.js'
import { oroDigest, saltedInput } from '../auth/digest.js'
import { phpDateUtc } from '../check/ticket.js'
import { createUserStore } from '../auth/user-store.js'
import { GW_ERR_USER_DISABLED, GW_ERR_USER_UNKNOWN } from '../errors.js'
import { commandLoadOptions, parseCommandLine, refuseArguments } from './options.js'
import { effectiveUrls } from './config-command.js'
import { CommandError } from './publish-command.js'

const EXAMPLE = 'oro-websocket-gateway ticket --user admin'

export const TICKET_OPTIONS = {
  user: { type: 'string', short: 'u' },
  'app-root': { type: 'string' },
  parameters: { type: 'string' }
} as const

/** An Oro ticket: base64(digest;username;nonce;created), the digest over nonce|created|password{secret}. */
export function makeOroTicket (secret: string, username: string, passwordHash: string, created: string, nonce: string): string {
  const digest = oroDigest(saltedInput(nonce, created, username === '' ? secret : passwordHash, secret))
  return Buffer.from(`${digest};${username};${nonce};${created}`).toString('base64')
}

export interface TicketOutput {
  /** The ticket alone, for stdout (and `$(...)`). */
  ticket: string
  /** For a person: whose it is, how long it lasts, where to use it. */
  note: string
}

export async function ticketCommand (args: string[], env: Record<string, string | undefined>, cwd: string, now = new Date()): Promise<TicketOutput> {
  const { values, positionals } = parseCommandLine(args, TICKET_OPTIONS, EXAMPLE)
  refuseArguments(positionals, EXAMPLE)
  const loaded = loadConfig(commandLoadOptions(values, env, cwd))
  const { secret, databaseUrl, tickets } = loaded.gateway
  if (secret === undefined) throw secretMissing(loaded, 'tickets are signed with it')

  let username = ''
  let password = ''
  if (values.user !== undefined && values.user !== '') {
    if (databaseUrl === undefined) throw new ConfigError('ORO_DB_URL', 'is not set (nor ORO_DB_DSN); a user\'s ticket is signed with the password hash read from Oro\'s database', 'ORO_DB_URL=postgres://oro:pass@127.0.0.1:5432/oro_db')
    const store = createUserStore(databaseUrl, { table: loaded.settings.ORO_WEBSOCKET_USER_TABLE, cacheSeconds: 0, poolSize: 1, setting: loaded.gateway.databaseSetting })
    try {
      const user = await store.findUser(values.user)
      const table = loaded.settings.ORO_WEBSOCKET_USER_TABLE
      if (user === null) throw new CommandError(new GW_ERR_USER_UNKNOWN().code, `no user "${values.user}" in ${table} (by username, or by e-mail when it has an @); check the name or ORO_WEBSOCKET_USER_TABLE`)
      if (!user.enabled) throw new CommandError(new GW_ERR_USER_DISABLED().code, `user "${user.username}" is disabled in ${table}; the gateway would refuse its ticket`)
      username = user.username
      password = user.password
    } finally {
      await store.close()
    }
  }

  const created = phpDateUtc(now)
  const ticket = makeOroTicket(secret, username, password, created, randomBytes(8).toString('hex'))
  const until = phpDateUtc(new Date(now.getTime() + tickets.lifetimeSeconds * 1000))
  const who = username === '' ? 'anonymous' : `user ${username}`
  const frontend = effectiveUrls(loaded).frontend.replace('<page host>', '127.0.0.1')
  return { ticket, note: `${who} ticket, valid until ${until}; connect with ${frontend}?ticket=<the ticket> (Origin: 127.0.0.1)` }
}
