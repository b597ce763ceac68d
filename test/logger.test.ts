import { test } from 'tap'
import { Writable } from 'node:stream'
import { createLogger, lifecycleLogger, logLevel } from '../src/logger.js'

// oro-compat §8: prod normal=warning, -v=notice, -vv=info, -vvv=debug; dev normal=info, -v=debug;
// -q = errors only.
test('Oro\'s log level table', async (t) => {
  const table: Array<[ 'prod' | 'dev', number, boolean, string ]> = [
    ['prod', 0, false, 'warn'], ['prod', 1, false, 'notice'], ['prod', 2, false, 'info'], ['prod', 3, false, 'debug'],
    ['prod', 5, false, 'debug'],
    ['dev', 0, false, 'info'], ['dev', 1, false, 'debug'], ['dev', 2, false, 'debug'], ['dev', 3, false, 'debug'],
    ['prod', 0, true, 'error'], ['dev', 3, true, 'error']
  ]
  for (const [mode, verbosity, quiet, level] of table) {
    t.equal(logLevel(mode, verbosity, quiet), level, `${mode} -${'v'.repeat(verbosity)}${quiet ? ' -q' : ''}`)
  }
})

test('notice sits between info and warn, and secrets are redacted', async (t) => {
  const lines: string[] = []
  const destination = new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb() } })
  const logger = createLogger({ mode: 'prod', level: 'notice', pretty: false, destination })
  logger.info('hidden')
  logger.notice({ ticket: 'T', req: { headers: { authorization: 'Bearer K' } } }, 'shown')
  logger.warn('also shown')
  const records = lines.map((l) => JSON.parse(l) as { level: string, msg: string, ticket?: string, req?: { headers: { authorization: string } } })
  t.same(records.map((r) => r.msg), ['shown', 'also shown'])
  t.equal(records[0]?.level, 'notice')
  t.equal(records[0]?.ticket, '[redacted]')
  t.equal(records[0]?.req?.headers.authorization, '[redacted]')
})

test('the lifecycle logger shows notice at prod\'s default level, keeps a more verbose level, and -q hides it', async (t) => {
  const run = (level: string, quiet: boolean): string[] => {
    const lines: string[] = []
    const destination = new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb() } })
    const lifecycle = lifecycleLogger(createLogger({ mode: 'prod', level, pretty: false, destination }), quiet)
    lifecycle.debug('debug line')
    lifecycle.notice('start line')
    lifecycle.error('error line')
    return lines.map((l) => (JSON.parse(l) as { msg: string }).msg)
  }
  t.same(run('warn', false), ['start line', 'error line'], 'prod default (warn): the start line shows')
  t.same(run('debug', false), ['debug line', 'start line', 'error line'], '-vvv: not made quieter')
  t.same(run('error', true), ['error line'], '-q: errors only')
})
