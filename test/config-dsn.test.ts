import { test } from 'tap'
import { parseDsn, parsePhpQuery, DsnError } from '../src/config/dsn.js'

// Every DSN from oro-compat §7 and Oro's documents in shared/seeds, and the edge cases PHP's
// parse_url + parse_str define.
const cases: Array<[string, { scheme: string, host: string, port: number, path: string, query?: object }]> = [
  ['//0.0.0.0:8080', { scheme: 'tcp', host: '0.0.0.0', port: 8080, path: '' }],
  ['//*:8080/ws', { scheme: 'tcp', host: '*', port: 8080, path: 'ws' }],
  ['tcp://127.0.0.1:8080', { scheme: 'tcp', host: '127.0.0.1', port: 8080, path: '' }],
  ['//*:443/ws', { scheme: 'tcp', host: '*', port: 443, path: 'ws' }],
  ['ssl://*:443/ws', { scheme: 'ssl', host: '*', port: 443, path: 'ws' }],
  ['ssl://*:443/ws?context_options[verify_peer]=false&context_options[verify_peer_name]=false',
    { scheme: 'ssl', host: '*', port: 443, path: 'ws', query: { context_options: { verify_peer: 'false', verify_peer_name: 'false' } } }],
  ['tcp://127.0.0.1:8080?user_agent=Oro%20Backend', { scheme: 'tcp', host: '127.0.0.1', port: 8080, path: '', query: { user_agent: 'Oro Backend' } }],
  ['tcp://127.0.0.1:8080/?user_agent=', { scheme: 'tcp', host: '127.0.0.1', port: 8080, path: '', query: { user_agent: '' } }],
  ['//:8080', { scheme: 'tcp', host: '', port: 8080, path: '' }],
  ['//example.com', { scheme: 'tcp', host: 'example.com', port: 8080, path: '' }],
  ['//example.com/ws/', { scheme: 'tcp', host: 'example.com', port: 8080, path: 'ws' }],
  ['//example.com:8080//deep/path//', { scheme: 'tcp', host: 'example.com', port: 8080, path: 'deep/path' }],
  ['TLS://host:9000', { scheme: 'tls', host: 'host', port: 9000, path: '' }],
  ['//[::1]:8080', { scheme: 'tcp', host: '::1', port: 8080, path: '' }],
  ['127.0.0.1:8081', { scheme: 'tcp', host: '127.0.0.1', port: 8081, path: '' }],
  ['tcp://h:1?a[]=1&a[]=2&b[c][d]=e', { scheme: 'tcp', host: 'h', port: 1, path: '', query: { a: ['1', '2'], b: { c: { d: 'e' } } } }]
]

test('DSNs parse as OroSyncBundle parses them', async (t) => {
  for (const [input, expected] of cases) {
    const dsn = parseDsn(input)
    t.match(dsn, { ...expected, query: expected.query ?? {} }, input)
    if (expected.query === undefined) t.same(dsn.query, {}, `${input} has no query`)
  }
})

test('user and password are percent-decoded', async (t) => {
  t.match(parseDsn('tcp://us%40er:p%3Ass@h:1'), { user: 'us@er', password: 'p:ss', host: 'h' })
})

const bad: Array<[string, RegExp]> = [
  ['//127.0.0.1:notaport', /port "notaport" that is not a number/],
  ['//0.0.0.0:99999', /port 99999 outside 1-65535/],
  ['//0.0.0.0:0', /port 0 outside 1-65535/],
  ['', /is empty/],
  ['//host name:80', /white space/],
  ['//::1:8080', /IPv6 host/],
  ['//[::1:8080', /unterminated IPv6/],
  ['tcp://h:1?a[b=1', /unbalanced brackets/],
  ['tcp://h:1?a]=1', /unbalanced "]"/],
  ['tcp://h:1?[x]=1', /starts with "\["/],
  ['tcp://h:1?a=%zz', /malformed percent-encoding/],
  ['tcp://h:1?a[]=1&a[x]=2', /mixes list and named entries/]
]

test('malformed DSNs are refused with the reason', async (t) => {
  for (const [input, message] of bad) {
    t.throws(() => parseDsn(input), { name: 'DsnError', message }, JSON.stringify(input))
  }
  t.type(new DsnError('x'), Error)
})

test('PHP-style queries', async (t) => {
  t.same(parsePhpQuery(''), {})
  t.same(parsePhpQuery('a=1&&b=x+y'), { a: '1', b: 'x y' })
  t.same(parsePhpQuery('flag'), { flag: '' })
  t.same(parsePhpQuery('a[x]=1&a[y]=2'), { a: { x: '1', y: '2' } })
  t.same(parsePhpQuery('a=1&a=2'), { a: '2' }, 'the last value wins, as in PHP')
  t.same(parsePhpQuery('a[][k]=1'), { a: [{ k: '1' }] })
})
