import { test } from 'tap'
import { startApp, type TestApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'

const KEYS = { ORO_WEBSOCKET_PUBLISH_KEYS: 'key-one, key-two' }

async function post (app: TestApp, body: unknown, headers: Record<string, string> = {}, key = 'key-one'): Promise<{ status: number, headers: Headers, json: Record<string, unknown> }> {
  const res = await fetch(`${app.url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
  return { status: res.status, headers: res.headers, json: await res.json() as Record<string, unknown> }
}

test('a publication reaches WAMP subscribers with exactly the posted data; the receipt counts them', async (t) => {
  const gw = await startApp(t, KEYS)
  const [a, b] = await Promise.all([connectWamp(gw.wsUrl), connectWamp(gw.wsUrl)])
  t.teardown(() => { a.close(); b.close() })
  a.subscribe('oro/data/update'); b.subscribe('oro/data/update')
  await Promise.all([a.sync(), b.sync()])
  const data = [{ username: 'admin', tagname: 'Oro_Bundle_UserBundle_Entity_User_1' }]
  const res = await post(gw, { topic: 'oro/data/update', data })
  t.equal(res.status, 202)
  t.same(res.json, { published: 1, recipients: 2 })
  t.same(await a.waitForEvents(1), [data])
  t.same(await b.waitForEvents(1), [data])
  t.same((await post(gw, { topic: 'nobody/listens', data: {} })).json, { published: 1, recipients: 0 }, 'a publisher sees when nobody listens')
  t.equal((await post(gw, { topic: 'oro/data/update', data: [] }, {}, 'key-two')).status, 202, 'every configured key works (rotation)')
})

test('a batch is delivered in array order; exclude and eligible take session ids', async (t) => {
  const gw = await startApp(t, KEYS)
  const [a, b] = await Promise.all([connectWamp(gw.wsUrl), connectWamp(gw.wsUrl)])
  t.teardown(() => { a.close(); b.close() })
  a.subscribe('t'); b.subscribe('t')
  await Promise.all([a.sync(), b.sync()])
  const res = await post(gw, [
    { topic: 't', data: 1 },
    { topic: 't', data: 2, exclude: [a.sessionId] },
    { topic: 't', data: 3, eligible: [a.sessionId] },
    { topic: 't', data: 4, exclude: [], eligible: [] }
  ])
  t.same(res.json, { published: 4, recipients: 6 })
  t.same(await a.waitForEvents(3), [1, 3, 4])
  t.same(await b.waitForEvents(3), [1, 2, 4])
})

test('errors: each with a code and a message that says what to change; nothing delivered', async (t) => {
  const gw = await startApp(t, { ...KEYS, ORO_WEBSOCKET_PUBLISH_MAX_BYTES: '2048', ORO_WEBSOCKET_PUBLISH_MAX_BATCH: '3' })
  const sub = await connectWamp(gw.wsUrl)
  t.teardown(() => sub.close())
  sub.subscribe('t')
  await sub.sync()

  const noKey = await fetch(`${gw.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"topic":"t","data":1}' })
  t.equal(noKey.status, 401)
  t.equal(noKey.headers.get('www-authenticate'), 'Bearer realm="oro-websocket-gateway"')
  t.match(await noKey.json(), { code: 'GW_ERR_UNAUTHORIZED', message: /Authorization: Bearer/ })
  t.match(await post(gw, { topic: 't', data: 1 }, {}, 'wrong'), { status: 401, json: { code: 'GW_ERR_UNAUTHORIZED' } })
  t.match(await post(gw, { topic: 't', data: 1 }, { authorization: 'Basic a2V5LW9uZTo=' }), { status: 401 })

  t.match(await post(gw, '{"topic": "t", "data": ', {}), { status: 400, json: { code: 'GW_ERR_BODY_INVALID', message: /malformed JSON/ } })
  t.match(await post(gw, '', {}), { status: 400, json: { code: 'GW_ERR_BODY_INVALID' } })
  t.match(await post(gw, { data: 1 }), { status: 400, json: { message: /publication 0: must have required property 'topic'/ } })
  t.match(await post(gw, { topic: 't' }), { status: 400, json: { message: /must have required property 'data'/ } })
  t.match(await post(gw, { topic: 5, data: 1 }), { status: 400, json: { message: /publication 0: "topic" must be string/ } })
  t.match(await post(gw, { topic: 't', data: 1, excludeMe: true }), { status: 400, json: { message: /unknown field "excludeMe"/ } })
  t.match(await post(gw, { topic: 't', data: 1, exclude: 'abc' }), { status: 400, json: { message: /"exclude" must be array/ } })
  t.match(await post(gw, [{ topic: 't', data: 1 }, { topic: 't', data: 2 }, { topic: 't' }]), { status: 400, json: { message: /^Invalid request body: publication 2: must have required property 'data'/ } })
  t.match(await post(gw, [1, 2, 3, 4].map((n) => ({ topic: 't', data: n }))), { status: 400, json: { message: /at most 3 publications \(ORO_WEBSOCKET_PUBLISH_MAX_BATCH\)/ } })
  t.match(await post(gw, []), { status: 400, json: { code: 'GW_ERR_BODY_INVALID' } })
  t.match(await post(gw, '"just a string"'), { status: 400, json: { code: 'GW_ERR_BODY_INVALID' } })
  t.match(await post(gw, { topic: 't', data: 'x'.repeat(3000) }), { status: 413, json: { code: 'GW_ERR_BODY_TOO_LARGE', message: /2048 bytes/ } })
  t.match(await post(gw, 'topic=t', { 'content-type': 'application/x-www-form-urlencoded' }), { status: 415, json: { code: 'GW_ERR_UNSUPPORTED_MEDIA_TYPE' } })
  t.match(await post(gw, 'x', { 'content-type': 'text/plain' }), { status: 415 })

  await sub.sync()
  t.same(sub.events(), [], 'no failed request delivered anything')
})

test('Idempotency-Key: a repeat gets the first answer and is not delivered again', async (t) => {
  const gw = await startApp(t, KEYS)
  const sub = await connectWamp(gw.wsUrl)
  t.teardown(() => sub.close())
  sub.subscribe('t')
  await sub.sync()
  const first = await post(gw, { topic: 't', data: 'once' }, { 'idempotency-key': 'abc-1' })
  const again = await post(gw, { topic: 't', data: 'once' }, { 'idempotency-key': 'abc-1' })
  t.same(again.json, first.json)
  t.equal(again.headers.get('idempotent-replayed'), 'true')
  const concurrent = await Promise.all([1, 2, 3].map(() => post(gw, { topic: 't', data: 'concurrent' }, { 'idempotency-key': 'abc-2' })))
  t.same(concurrent.map((r) => r.status), [202, 202, 202])
  const otherHolder = await post(gw, { topic: 't', data: 'once' }, { 'idempotency-key': 'abc-1' }, 'key-two')
  t.equal(otherHolder.headers.get('idempotent-replayed'), null, 'another key holder has its own keys')
  const failed = await post(gw, { topic: 't' }, { 'idempotency-key': 'abc-3' })
  t.equal(failed.status, 400)
  const retried = await post(gw, { topic: 't', data: 'fixed' }, { 'idempotency-key': 'abc-3' })
  t.equal(retried.status, 202, 'a failed request may be retried with the same key')
  await sub.sync()
  t.same(sub.events('t'), ['once', 'concurrent', 'once', 'fixed'])
})

test('rate limit per key: 429 with Retry-After', async (t) => {
  const gw = await startApp(t, { ...KEYS, ORO_WEBSOCKET_PUBLISH_RATE_LIMIT: '2' })
  const answers = []
  for (let i = 0; i < 4; i++) answers.push(await post(gw, { topic: 't', data: i }))
  t.same(answers.map((a) => a.status), [202, 202, 429, 429])
  t.match(answers[2], { json: { code: 'GW_ERR_RATE_LIMITED', message: /2 requests per second/ } })
  t.equal(answers[2]?.headers.get('retry-after'), '1')
  t.equal((await post(gw, { topic: 't', data: 'other key' }, {}, 'key-two')).status, 202, 'each key has its own bucket')
})

test('503 with Retry-After when the broker cannot take the message', async (t) => {
  const gw = await startApp(t, KEYS)
  await gw.app.broker.close()
  const res = await post(gw, { topic: 't', data: 1 })
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '1')
  t.match(res.json, { code: 'GW_ERR_BROKER_UNAVAILABLE', message: /nothing was delivered/ })
})

test('GET /openapi.json describes the HTTP API from the route schemas', async (t) => {
  const gw = await startApp(t, KEYS)
  const doc = await (await fetch(`${gw.url}/openapi.json`)).json() as { openapi: string, paths: Record<string, Record<string, { responses: Record<string, unknown>, requestBody?: unknown }>> }
  t.match(doc.openapi, /^3\./)
  t.ok(doc.paths['/publish']?.post?.requestBody, 'publish has a request body schema')
  t.ok(doc.paths['/publish']?.post?.responses['202'])
  t.ok(doc.paths['/healthz']?.get)
  t.ok(doc.paths['/readyz']?.get)
  t.notOk(doc.paths['/*'], 'the WebSocket catch-all is hidden')
})

test('ORO_WEBSOCKET_PUBLISH_LISTEN: not on the WebSocket listener', async (t) => {
  const gw = await startApp(t, { ...KEYS, ORO_WEBSOCKET_PUBLISH_LISTEN: '127.0.0.1:8081' })
  t.equal((await post(gw, { topic: 't', data: 1 })).status, 404, 'POST /publish is not served with the WebSockets')
})

test('topic rules: unrouted topics are 404, oro/ping is 403, Oro\'s payload shapes are checked', async (t) => {
  const gw = await startApp(t, { ...KEYS, ORO_WEBSOCKET_TOPICS: '' })
  const sub = await connectWamp(gw.wsUrl)
  t.teardown(() => sub.close())
  sub.subscribe('oro/maintenance')
  await sub.sync()
  t.match(await post(gw, { topic: 'acme/unknown', data: 1 }), { status: 404, json: { code: 'GW_ERR_TOPIC_NOT_ROUTED', message: /acme\/unknown/ } })
  t.match(await post(gw, { topic: 'oro/ping', data: 'x' }), { status: 403, json: { code: 'GW_ERR_TOPIC_FORBIDDEN' } })
  t.match(await post(gw, { topic: 'oro/maintenance', data: { isOn: 'yes' } }), {
    status: 400, json: { code: 'GW_ERR_PAYLOAD_SHAPE', message: /expects \{"isOn": bool, "userId": int\|null\}/ }
  })
  t.match(await post(gw, { topic: 'oro/data/update', data: [{ username: null }] }), { status: 400, json: { message: /\[\{"username": string\|null, "tagname": string\}, \.\.\.\]/ } })
  t.match(await post(gw, [{ topic: 'oro/maintenance', data: { isOn: true, userId: null } }, { topic: 'oro/maintenance', data: [] }]), {
    status: 400, json: { message: /^publication 1: / }
  })
  t.equal((await post(gw, { topic: 'oro/email_event/7/1', data: { hasNewEmail: true } })).status, 202, 'private topics may be published to')
  t.equal((await post(gw, { topic: 'oro/maintenance', data: { isOn: true, userId: null } })).status, 202)
  await sub.sync()
  t.same(sub.events(), [{ isOn: true, userId: null }], 'only the valid publication was delivered; the batch with a bad one was not')
})

test('data nested 20,000 levels deep: 400 with a code, never a 500; shallower data still passes', async (t) => {
  const gw = await startApp(t, KEYS)
  const deep = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)
  for (const topic of ['t', 'oro/maintenance', 'oro/data/update']) {
    const res = await post(gw, `{"topic":"${topic}","data":${deep(20_000)}}`)
    t.match(res, { status: 400, json: { code: 'GW_ERR_BODY_INVALID', message: /deeper than 100 levels/ } }, topic)
  }
  t.match(await post(gw, `{"topic":"oro/maintenance","data":{"isOn":${deep(90)}}}`), { status: 400, json: { code: 'GW_ERR_PAYLOAD_SHAPE' } }, 'a deep wrong value is described briefly')
  t.equal((await post(gw, `{"topic":"t","data":${deep(90)}}`)).status, 202)
})

test('Idempotency-Key reused with another body: 422, and the second body is not delivered', async (t) => {
  const gw = await startApp(t, KEYS)
  const sub = await connectWamp(gw.wsUrl)
  t.teardown(() => sub.close())
  sub.subscribe('t')
  await sub.sync()
  t.equal((await post(gw, { topic: 't', data: 'first' }, { 'idempotency-key': 'k-9' })).status, 202)
  const other = await post(gw, { topic: 't', data: 'second' }, { 'idempotency-key': 'k-9' })
  t.match(other, { status: 422, json: { code: 'GW_ERR_IDEMPOTENCY_KEY_REUSED', message: /"k-9" was used .*another request body; use a new key/ } })
  t.equal(other.headers.get('idempotent-replayed'), null)
  await sub.sync()
  t.same(sub.events('t'), ['first'])
})

test('prod without ORO_WEBSOCKET_PUBLISH_KEYS: starts, says so at warn, answers 404 GW_ERR_PUBLISH_DISABLED', async (t) => {
  const gw = await startApp(t, { ORO_SECRET: 'secret' }, 'prod', 'warn')
  t.ok(gw.logs.some((l) => l.level === 'warn' && /POST \/publish is disabled: ORO_WEBSOCKET_PUBLISH_KEYS is not set/.test(String(l.msg))), 'a warn line at start')
  for (const headers of [{}, { authorization: 'Bearer anything' }] as Array<Record<string, string>>) {
    const res = await fetch(`${gw.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"topic":"t","data":1}' })
    t.equal(res.status, 404)
    t.match(await res.json(), { code: 'GW_ERR_PUBLISH_DISABLED', message: /set it \(e\.g\. ORO_WEBSOCKET_PUBLISH_KEYS=/ })
  }
})

test('refused requests are logged once per code per interval, clipped, with the count left out', async (t) => {
  const gw = await startApp(t, { ...KEYS, ORO_WEBSOCKET_TOPICS: '' })
  for (let i = 0; i < 20; i++) t.equal((await post(gw, { topic: `acme/${'x'.repeat(2000)}/${i}`, data: 1 })).status, 404)
  const lines = gw.logs.filter((l) => l.code === 'GW_ERR_TOPIC_NOT_ROUTED')
  t.equal(lines.length, 1, 'one line for twenty refusals')
  t.ok(String(lines[0]?.msg).length < 600, 'the client-controlled topic is clipped')
})

test('the posted JSON text of data reaches subscribers as it came: integers above 2^53, 1.0 and escapes unchanged', async (t) => {
  const gw = await startApp(t, KEYS)
  const sub = await connectWamp(gw.wsUrl)
  t.teardown(() => sub.close())
  const texts: string[] = []
  sub.ws.on('message', (data) => { if (String(data).startsWith('[8,')) texts.push(String(data)) })
  sub.subscribe('t')
  await sub.sync()
  const data = '{"id": 12345678901234567891, "ratio":1.0, "s":"a\\"b\\u00e9]}", "n":[1e400,-0]}'
  const res = await post(gw, `[{"topic":"t","data":${data}}, {"data" : 9007199254740993 , "topic":"t"}]`)
  t.equal(res.status, 202)
  await sub.waitForEvents(2, 't')
  t.same(texts, [`[8,"t",${data}]`, '[8,"t",9007199254740993]'])
})
