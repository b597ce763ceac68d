import { test } from 'tap'
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../src/config/errors.js'
import { authorizeSubscribe, createTopicRouter, loadTopicRules } from '../src/topics/index.js'
import { findRoutingFiles } from '../src/topics/app-root.js'

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'topics')
const ROUTING = join('Resources', 'config', 'oro', 'websocket_routing.yml')

function tmp (files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-topics-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

test('without files: the defaults, reported as such', async (t) => {
  const { rules, loaded } = loadTopicRules({ cwd: fixtures })
  t.equal(rules.length, 9)
  t.match(loaded[0], { topic: 'oro/ping', policy: 'ping', source: 'defaults', route: 'oro_sync.ping', policyFrom: /Oro's callback oro_sync\.ping/ })
  t.ok(loaded.every((l) => l.source === 'defaults'))
  t.equal(loadTopicRules({ cwd: fixtures, topicsFile: '', appRoot: '' }).rules.length, 9)
})

test('a YAML list file adds rules and overrides defaults', async (t) => {
  const { rules, loaded } = loadTopicRules({ cwd: fixtures, topicsFile: 'topics.yml' })
  t.equal(rules.length, 11)
  t.match(loaded.find((l) => l.topic === 'oro/maintenance'), { topic: 'oro/maintenance', policy: 'ping', source: 'topics.yml', replaces: 'defaults', policyFrom: 'policy:' })
  t.match(loaded.at(-1), { topic: 'acme/inbox/{user_id}', policy: 'user', source: 'topics.yml' })
  const router = createTopicRouter(rules)
  t.equal(router.match('acme/news')?.rule.name, 'acme.news')
  t.match(authorizeSubscribe(router, 'acme/inbox/7', { anonymous: false, userId: 7 }), { ok: true })
  t.match(authorizeSubscribe(router, 'acme/inbox/7', { anonymous: true }), { reason: 'anonymous' })
})

test('a JSON file, by extension or by trying JSON first', async (t) => {
  const { rules, loaded } = loadTopicRules({ cwd: fixtures, topicsFile: 'topics.json' })
  t.match(loaded.slice(-2), [
    { topic: 'acme/news', policy: 'ping', source: 'topics.json' },
    { topic: 'acme/alerts/{user_id}/{org}', policy: 'user-or-wildcard', source: 'topics.json' }
  ])
  const router = createTopicRouter(rules)
  t.match(authorizeSubscribe(router, 'acme/alerts/*/3', { anonymous: true }), { ok: true })
  t.match(authorizeSubscribe(router, 'acme/alerts/*/x', { anonymous: true }), { reason: 'no-route' })
  t.equal(loadTopicRules({ cwd: fixtures, topicsFile: 'topics-json-without-extension' }).loaded.at(-1)?.topic, 'acme/x')
  // An absolute path is fine too.
  t.equal(loadTopicRules({ cwd: '/', topicsFile: join(fixtures, 'topics.json') }).rules.length, 11)
})

test('Oro\'s websocket_routing.yml format: callbacks map to policies, unknown ones are closed to browsers', async (t) => {
  const { rules, loaded, warnings } = loadTopicRules({ cwd: fixtures, topicsFile: 'oro-routing.yml' })
  t.match(loaded.find((l) => l.topic.startsWith('oro/email_event')), {
    topic: 'oro/email_event/{user_id}/{organization_id}', policy: 'user', source: 'oro-routing.yml', replaces: 'defaults'
  })
  // No --app-root: no topic service to take the policy from; fail closed, and say so.
  t.match(loaded.at(-1), { topic: 'acme/feed', policy: 'unknown', source: 'oro-routing.yml', policyFrom: /no --app-root/ })
  t.match(warnings.map((w) => w.fields.route), ['acme.feed'])
  t.match(authorizeSubscribe(createTopicRouter(rules), 'acme/feed', { anonymous: false, userId: 7 }), { ok: false, reason: 'unknown-policy' })
  const email = rules.find((r) => r.name === 'oro_email.event')
  t.match(email, {
    name: 'oro_email.event',
    topic: 'oro/email_event/{user_id}/{organization_id}',
    policy: 'user',
    callback: 'oro_email.event',
    requirements: { user_id: { pattern: '\\d+' }, organization_id: { pattern: '\\d+', wildcard: true } }
  })
})

test('--app-root: every bundle\'s routing file, vendor first, the application last, the topics file after', async (t) => {
  const app = join(fixtures, 'app')
  t.same(findRoutingFiles(app).map((f) => f.slice(app.length + 1)), [
    join('vendor/acme/chat/src/Acme/Bundle/ChatBundle', ROUTING),
    join('vendor/oro/platform/src/Oro/Bundle/ImapBundle', ROUTING),
    join('vendor/oro/platform/src/Oro/Bundle/SyncBundle', ROUTING),
    join('src/App/Bundle/AppBundle', ROUTING)
  ])
  const { rules, loaded } = loadTopicRules({ cwd: fixtures, appRoot: 'app', topicsFile: 'topics.yml' })
  const find = (topic: string): unknown => loaded.find((l) => l.topic === topic)
  t.match(find('acme/chat/{room}'), { topic: 'acme/chat/{room}', policy: 'unknown', source: join('vendor/acme/chat/src/Acme/Bundle/ChatBundle', ROUTING), policyFrom: /no service tagged gos_web_socket\.topic/ })
  t.match(find('acme/chat_private/{user_id}'), {
    topic: 'acme/chat_private/{user_id}',
    policy: 'user',
    source: join('src/App/Bundle/AppBundle', ROUTING),
    replaces: join('vendor/acme/chat/src/Acme/Bundle/ChatBundle', ROUTING)
  })
  t.match(find('oro/imap_sync_fail/{user_id}'), { policy: 'user-or-wildcard', replaces: 'defaults' })
  t.match(find('oro/ping'), { policy: 'ping', source: /SyncBundle/ })
  t.match(find('oro/maintenance'), { policy: 'ping', source: 'topics.yml', replaces: 'defaults' })
  const router = createTopicRouter(rules)
  t.ok(router.match('acme/chat/lobby'))
  t.equal(router.match('acme/chat/Lobby'), null, 'Gos-style string requirement')
  t.match(authorizeSubscribe(router, 'acme/chat_private/8', { anonymous: false, userId: 7 }), { reason: 'other-user' })
})

test('--app-root skips node_modules, var/cache, .git and survives symlink loops', async (t) => {
  const rule = "x:\n  channel: 'skipped/topic'\n  handler: { callback: x }\n"
  const root = tmp({
    [join('node_modules/a', ROUTING)]: rule,
    [join('var/cache/prod/a', ROUTING)]: rule,
    [join('.git/a', ROUTING)]: rule,
    [join('var/other', ROUTING)]: "y:\n  channel: 'found/topic'\n",
    [join('deep/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16', ROUTING)]: rule,
    [join('src/Resources/config/oro', 'other.yml')]: rule
  })
  cpSync(join(fixtures, 'app'), join(root, 'linked-target'), { recursive: true })
  symlinkSync(root, join(root, 'loop'))
  symlinkSync(join(root, 'linked-target'), join(root, 'linked'))
  symlinkSync(join(root, 'missing'), join(root, 'dangling'))
  const files = findRoutingFiles(root).map((f) => f.slice(root.length + 1))
  t.same(files.filter((f) => f.includes('skipped') || f.startsWith('node_modules') || f.startsWith('.git') || f.startsWith(join('var', 'cache'))), [])
  t.ok(files.includes(join('var/other', ROUTING)))
  t.notOk(files.some((f) => f.startsWith('deep')), 'beyond the depth bound')
  // The linked tree is read once, through whichever name comes first.
  t.equal(files.filter((f) => f.endsWith(join('AppBundle', ROUTING))).length, 1)
  const { loaded } = loadTopicRules({ cwd: root, appRoot: '.' })
  t.match(loaded.find((l) => l.topic === 'found/topic'), { policy: 'unknown', policyFrom: 'no handler.callback' }, 'no handler: closed')
  t.notOk(loaded.some((l) => l.topic === 'skipped/topic'))
})

test('--app-root scanning is bounded', async (t) => {
  const root = tmp({ 'a/b/c/d/x': '' })
  t.throws(() => findRoutingFiles(root, { maxDirectories: 2 }), { setting: `--app-root ${root}`, message: /too many directories/ })
  t.throws(() => findRoutingFiles(root, { timeBudgetMs: -1 }), { message: /too many directories/ })
  t.throws(() => loadTopicRules({ cwd: root, appRoot: 'nope' }), { message: /--app-root nope does not exist|does not exist/ })
})

const list = (entry: string): string => `- ${entry}\n`
// [file name, contents, the ConfigError message]
const badFiles: Array<[string, string, RegExp]> = [
  ['t.yml', '- topic: [oops\n', /^ORO_WEBSOCKET_TOPICS t\.yml is not valid YAML \(.+\); for example - \{ topic: oro\/my_topic, policy: public \}$/],
  ['t.json', '[{"topic": }]', /^ORO_WEBSOCKET_TOPICS t\.json is not valid JSON/],
  ['t', '{ not: json: nor yaml', /^ORO_WEBSOCKET_TOPICS t is not valid YAML/],
  ['t.yml', '42\n', /^ORO_WEBSOCKET_TOPICS t\.yml must hold a list of rules or an Oro websocket_routing\.yml mapping; for example/],
  ['t.yml', list('just a string'), /^ORO_WEBSOCKET_TOPICS t\.yml, rule 1 must be a mapping with topic and policy/],
  ['t.yml', list('{ topic: a, policy: public }') + list('{ policy: public }'), /^ORO_WEBSOCKET_TOPICS t\.yml, rule 2 has no topic; for example - \{ topic: "oro\/my_topic\/\{user_id\}"/],
  ['t.yml', list('{ topic: a }'), /^ORO_WEBSOCKET_TOPICS t\.yml, rule 1 \(a\) has no policy; expected one of public, user, user-or-wildcard, ping; for example policy: public$/],
  ['t.yml', list('{ topic: a, policy: private }'), /rule 1 \(a\) has an unknown policy "private"; expected one of/],
  ['t.yml', list('{ topic: a, polcy: public }'), /rule 1 has an unknown key "polcy"; known keys are name, topic, requirements, policy, callback/],
  ['t.yml', list('{ topic: "a/{id}", policy: public, requirements: { id: { pattern: "(" } } }'), /rule 1 \(a\/\{id\}\) has requirements\.id\.pattern "\(" that is not a valid regular expression .*; for example pattern: '\\d\+'$/],
  ['t.yml', list('{ topic: "a/{id}", policy: public, requirements: { user_id: { pattern: "\\\\d+" } } }'), /rule 1 \(a\/\{id\}\) has requirements for "user_id", which is not a placeholder of topic "a\/\{id\}"; for example/],
  ['t.yml', list('{ topic: "a/{id}", policy: public, requirements: { id: { wildcard: "yes" } } }'), /requirements\.id\.wildcard "yes", expected true or false/],
  ['t.yml', list('{ topic: "a/{id}", policy: public, requirements: { id: { regex: "x" } } }'), /rule 1 \(a\/\{id\}\), requirements\.id has an unknown key "regex"/],
  ['t.yml', list('{ topic: "a/{id}", policy: public, requirements: { id: 5 } }'), /requirements\.id that is neither a pattern nor a mapping/],
  ['t.yml', list('{ topic: "a/{id}", policy: public, requirements: [x] }'), /has requirements that are not a mapping/],
  ['t.yml', list('{ topic: "a/{id}", policy: public, requirements: { id: { pattern: 5 } } }'), /has requirements\.id\.pattern 5, expected a string/],
  ['t.yml', list('{ topic: "a/{id}", policy: public, requirements: { id: "(?<id>x)" } }'), /has a requirement pattern that is not a valid regular expression/],
  ['t.yml', list('{ topic: "a/{id}", policy: user }'), /rule 1 \(a\/\{id\}\) has policy "user" but topic "a\/\{id\}" has no \{user_id\} placeholder/],
  ['t.yml', list('{ topic: "a/{id", policy: public }'), /topic "a\/\{id" has an unbalanced "\{" or "\}"/],
  ['t.yml', list('{ topic: "a/{1d}", policy: public }'), /placeholder "\{1d\}" that is not a name/],
  ['t.yml', list('{ topic: "a/{x}/{x}", policy: public }'), /uses the placeholder "\{x\}" twice/],
  ['t.yml', list('{ topic: "a b", policy: public }'), /topic "a b" contains white space/],
  ['t.yml', list('{ topic: a, policy: public, name: 5 }'), /has name 5, expected a string/],
  ['t.yml', 'x:\n  handler: { callback: x }\n', /^ORO_WEBSOCKET_TOPICS t\.yml, x has no channel \(the topic\); for example my_bundle\.my_topic: /],
  ['t.yml', 'x: 5\n', /^ORO_WEBSOCKET_TOPICS t\.yml, x must be a mapping with channel and handler/],
  ['t.yml', "x:\n  channel: a\n  handler: oro_sync.ping\n", /x \(a\) has a handler that is not a mapping/],
  ['t.yml', "x:\n  channel: a\n  handler: { callback: 5 }\n", /x \(a\) has handler\.callback 5, expected a string/],
  ['t.yml', "x:\n  channel: a\n  policy: secret\n", /x \(a\) has an unknown policy "secret"/],
  ['t.yml', "x:\n  channel: a\n  route: b\n", /x has an unknown key "route"/]
]

test('every bad file is a ConfigError naming the file, the entry and the problem', async (t) => {
  for (const [name, text, message] of badFiles) {
    const cwd = tmp({ [name]: text })
    t.throws(() => loadTopicRules({ cwd, topicsFile: name }), message, JSON.stringify(text))
    try {
      loadTopicRules({ cwd, topicsFile: name })
    } catch (err) {
      t.ok(err instanceof ConfigError && err.code === 'GW_ERR_CONFIG_INVALID', 'a ConfigError')
    }
  }
  const dir = tmp()
  t.throws(() => loadTopicRules({ cwd: dir, topicsFile: 'missing.yml' }), { message: new RegExp(`^ORO_WEBSOCKET_TOPICS missing\\.yml cannot be read \\(${join(dir, 'missing.yml')}: ENOENT\\)`) }, 'names the absolute path tried')
})

test('a bad routing file under --app-root names that file', async (t) => {
  const root = tmp({ [join('vendor/acme/x', ROUTING)]: "acme.x:\n  channel: 'acme/{user_id'\n" })
  t.throws(() => loadTopicRules({ cwd: root, appRoot: '.' }), {
    message: new RegExp(`^--app-root \\.: ${join('vendor/acme/x', ROUTING).replace(/\./g, '\\.')}, acme\\.x \\(acme/\\{user_id\\) topic "acme/\\{user_id" has an unbalanced`)
  })
})

test('an empty file adds nothing', async (t) => {
  const cwd = tmp({ 'empty.yml': '# nothing yet\n' })
  t.equal(loadTopicRules({ cwd, topicsFile: 'empty.yml' }).rules.length, 9)
})
