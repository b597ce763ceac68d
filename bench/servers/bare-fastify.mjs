// The reference for POST /publish throughput: a bare Fastify route that parses the JSON body and
// answers 202, with nothing else (no auth, schema, routing or delivery).
import Fastify from 'fastify'

const port = Number(process.env.PORT ?? 8092)
const app = Fastify({ logger: false })
app.post('/publish', async (_request, reply) => reply.code(202).send({ published: 1, recipients: 0 }))
await app.listen({ host: '127.0.0.1', port })
process.send?.('ready')
