// deploy/kubernetes: every manifest is valid against the Kubernetes API's JSON schemas (the
// validators the npm package kubernetes-models generates from them), and its numbers agree with
// the gateway's: probes on /healthz and /readyz, preStop + shutdown timeout within the grace
// period, the port of the SERVER DSN, Redis when there is more than one replica, and the probes'
// scheme (HTTPS exactly when the SERVER DSN has TLS of its own).
import { test } from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Secret } from 'kubernetes-models/v1/Secret'
import { Service } from 'kubernetes-models/v1/Service'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { settingNames, settingSchema, type SettingName } from '../src/config/schema.js'
import { loadConfig } from '../src/config/load.js'
import { parseDsn } from '../src/config/dsn.js'
import { listenerTls } from '../src/tls/context-options.js'

const dir = new URL('../deploy/kubernetes/', import.meta.url)
const read = (file: string): any => parse(readFileSync(new URL(file, dir), 'utf8'))
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

const MODELS: Record<string, new (data: any) => { validate: () => void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget
}

function validate (doc: { apiVersion: string, kind: string }): string | undefined {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`]
  if (Model === undefined) return `no schema for ${doc.apiVersion} ${doc.kind}`
  try {
    new Model(doc).validate()
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

/** The problems of the probes' scheme for this SERVER DSN: HTTPS with TLS on the listener, else HTTP. */
function probeSchemeProblems (serverDsn: string, container: any): string[] {
  const wanted = listenerTls(parseDsn(serverDsn), 'ORO_WEBSOCKET_SERVER_DSN') !== null ? 'HTTPS' : 'HTTP'
  return [container.livenessProbe, container.readinessProbe]
    .filter((probe) => (probe.httpGet.scheme ?? 'HTTP') !== wanted)
    .map((probe) => `${String(probe.httpGet.path)} is probed over ${String(probe.httpGet.scheme ?? 'HTTP')}, the listener serves ${wanted}`)
}

test('every manifest is valid against the Kubernetes schemas', async (t) => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()
  t.same(files, ['configmap.yaml', 'deployment.yaml', 'pdb.yaml', 'secret.example.yaml', 'service.yaml'])
  for (const file of files) t.equal(validate(read(file)), undefined, `${file} is valid`)
  t.same([...read('kustomization.yaml').resources].sort(), files.filter((f) => f !== 'secret.example.yaml'), 'kustomization.yaml applies all but the example Secret')

  // The validator really rejects a broken manifest (so the passes above mean something).
  const broken = read('deployment.yaml')
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'eight thousand eighty'
  t.match(validate(broken), /containerPort must be integer/)
  const noSelector = read('deployment.yaml')
  delete noSelector.spec.selector
  t.match(validate(noSelector), /selector/)
})

test('the numbers agree with the gateway\'s settings and defaults', async (t) => {
  const config = read('configmap.yaml').data as Record<string, string>
  const secret = read('secret.example.yaml').stringData as Record<string, string>
  for (const name of [...Object.keys(config), ...Object.keys(secret)]) t.ok(settingNames.includes(name as SettingName), `${name} is a setting`)
  // The example settings load as the gateway loads them (prod requirements aside).
  const loaded = loadConfig({ env: { ...config, ...secret }, cwd: process.cwd() })
  const seconds = (name: 'ORO_WEBSOCKET_SHUTDOWN_TIMEOUT' | 'ORO_WEBSOCKET_DRAIN_DELAY'): number => Number(config[name] ?? settingSchema(name).default)
  const shutdownTimeout = seconds('ORO_WEBSOCKET_SHUTDOWN_TIMEOUT')
  const drainDelay = seconds('ORO_WEBSOCKET_DRAIN_DELAY')
  t.equal(loaded.gateway.shutdownTimeoutMs, shutdownTimeout * 1000)
  const origins = loaded.gateway.access.origins
  t.ok(origins.allows('127.0.0.1'), 'Oro\'s backend (Origin: 127.0.0.1) is allowed')
  t.ok(origins.extendable, 'the hosts of Oro\'s application URL (from the database) are added, not replaced')

  const deployment = read('deployment.yaml')
  const pod = deployment.spec.template.spec
  const [container] = pod.containers
  const port = parseDsn(config.ORO_WEBSOCKET_SERVER_DSN ?? String(settingSchema('ORO_WEBSOCKET_SERVER_DSN').default)).port
  t.equal(container.ports[0].containerPort, port, 'the container port is the SERVER DSN\'s')
  t.equal(container.livenessProbe.httpGet.path, '/healthz')
  t.equal(container.readinessProbe.httpGet.path, '/readyz')
  for (const probe of [container.livenessProbe, container.readinessProbe]) t.equal(probe.httpGet.port, container.ports[0].name)
  const serverDsn = config.ORO_WEBSOCKET_SERVER_DSN ?? String(settingSchema('ORO_WEBSOCKET_SERVER_DSN').default)
  t.same(probeSchemeProblems(serverDsn, container), [], 'the probes\' scheme matches the SERVER DSN (HTTP: no TLS of its own)')

  const preStop = container.lifecycle.preStop.exec.command as string[]
  t.same(preStop.slice(0, 1), ['sleep'])
  const preStopSeconds = Number(preStop[1])
  t.ok(preStopSeconds >= 3, 'preStop gives the ingress and kube-proxy a few seconds to forget the pod')
  t.ok(drainDelay < shutdownTimeout, 'the drain delay fits in the shutdown timeout')
  t.ok(pod.terminationGracePeriodSeconds >= preStopSeconds + shutdownTimeout + 2,
    `grace period ${pod.terminationGracePeriodSeconds} s >= preStop ${preStopSeconds} s + shutdown timeout ${shutdownTimeout} s + 2 s`)
  t.match(deployment.metadata ? readFileSync(new URL('deployment.yaml', dir), 'utf8') : '', new RegExp(`ORO_WEBSOCKET_DRAIN_DELAY \\(${drainDelay} s\\)[\\s\\S]*ORO_WEBSOCKET_SHUTDOWN_TIMEOUT \\(${shutdownTimeout} s\\)[\\s\\S]*${preStopSeconds} \\+ ${shutdownTimeout} \\+ \\d+ s of margin = ${pod.terminationGracePeriodSeconds}`), 'the comment tells the same numbers')

  t.same(container.command, ['node', 'dist/cli.js', 'serve', '--env=prod'], 'the Dockerfile\'s CMD, node as PID 1')
  t.equal(container.image, `oro-websocket-gateway:${version}`, 'the image tag is the package version')
  t.equal(pod.securityContext.runAsNonRoot, true)
  t.ok(pod.securityContext.runAsUser > 0, 'a numeric non-root user')
  t.equal(container.securityContext.readOnlyRootFilesystem, true)
  t.equal(container.securityContext.allowPrivilegeEscalation, false)
  t.same(container.securityContext.capabilities.drop, ['ALL'])
  t.ok(container.resources.requests.cpu !== undefined && container.resources.requests.memory !== undefined, 'resource requests')
  t.same(container.envFrom.map((e: any) => e.configMapRef?.name ?? e.secretRef?.name), [read('configmap.yaml').metadata.name, read('secret.example.yaml').metadata.name])

  if (deployment.spec.replicas > 1) {
    t.not(loaded.gateway.broker.target.kind, 'memory', 'more than one replica: the broker is Redis')
  }
  const labels = deployment.spec.template.metadata.labels
  t.same(deployment.spec.selector.matchLabels, labels)
  const service = read('service.yaml')
  t.same(service.spec.selector, labels, 'the Service selects the pods')
  t.equal(service.spec.ports[0].targetPort, container.ports[0].name)
  const backend = parseDsn(config.ORO_WEBSOCKET_BACKEND_DSN as string)
  t.equal(backend.host, service.metadata.name, 'Oro\'s backend connects to the Service')
  t.equal(backend.port, service.spec.ports[0].port)
  const pdb = read('pdb.yaml')
  t.same(pdb.spec.selector.matchLabels, labels, 'the PodDisruptionBudget covers the pods')
  t.ok(pdb.spec.maxUnavailable < deployment.spec.replicas, 'and always leaves one running')
})

test('with TLS on the SERVER DSN (as configmap.yaml describes) the probes need scheme HTTPS', async (t) => {
  const config = read('configmap.yaml').data as Record<string, string>
  const comment = readFileSync(new URL('configmap.yaml', dir), 'utf8')
  const tlsDsn = /"(\/\/0\.0\.0\.0:\d+\?context_options\[local_cert\]=[^"]+)"/.exec(comment)?.[1]
  t.ok(tlsDsn, 'configmap.yaml shows the SERVER DSN with TLS')
  t.equal(parseDsn(tlsDsn ?? '').port, parseDsn(config.ORO_WEBSOCKET_SERVER_DSN as string).port, 'on the same port')
  const deployment = read('deployment.yaml')
  const [container] = deployment.spec.template.spec.containers
  t.match(probeSchemeProblems(tlsDsn ?? '', container), [/\/healthz is probed over HTTP, the listener serves HTTPS/, /\/readyz/], 'the HTTP probes do not fit a TLS listener')
  for (const probe of [container.livenessProbe, container.readinessProbe]) probe.httpGet.scheme = 'HTTPS'
  t.same(probeSchemeProblems(tlsDsn ?? '', container), [], 'scheme HTTPS does')
  t.equal(validate(deployment), undefined, 'and is valid against the schema')
  t.match(readFileSync(new URL('deployment.yaml', dir), 'utf8'), /scheme: HTTPS on both probes when ORO_WEBSOCKET_SERVER_DSN has TLS/, 'deployment.yaml says so next to the probes')
})
