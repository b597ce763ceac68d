// Reads Prometheus' text format (what GET /metrics answers) and the README's metrics table, so
// tests can compare what is documented with what is exported.
import { readFileSync } from 'node:fs'

export interface Sample { name: string, labels: Record<string, string>, value: number }

export function parseSamples (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = pair[2] as string
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) })
  }
  return samples
}

/** `# TYPE` lines: metric family name to type. */
export function parseTypes (text: string): Map<string, string> {
  const types = new Map<string, string>()
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1] as string, match[2] as string)
  return types
}

/** Sum of a family's samples whose labels include `labels` (a histogram: its _count). */
export function total (samples: Sample[], family: string, type: string, labels: Record<string, string> = {}): number {
  const name = type === 'histogram' ? `${family}_count` : family
  let sum = 0
  for (const s of samples) {
    if (s.name !== name) continue
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value
  }
  return sum
}

export interface DocumentedMetric { name: string, type: string, labels: string[] }

/** The rows of the README's "## Metrics" table. */
export function readmeMetrics (readme = readFileSync('README.md', 'utf8')): DocumentedMetric[] {
  const start = readme.indexOf('\n## Metrics\n')
  if (start === -1) throw new Error('README has no "## Metrics" section')
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end === -1 ? undefined : end)
  const rows: DocumentedMetric[] = []
  for (const match of section.matchAll(/^\| `([a-z_:]+)` \| (counter|gauge|histogram) \|([^|]*)\|/gm)) {
    rows.push({ name: match[1] as string, type: match[2] as string, labels: [...(match[3] as string).matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string) })
  }
  return rows
}
