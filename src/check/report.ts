// The doctor's report: one line per step, what was found and, for a failure, what to change.
export type StepStatus = 'ok' | 'warn' | 'skip' | 'fail'

export interface StepResult {
  step: string
  status: StepStatus
  /** What was checked and what came back. */
  detail: string
  /** For fail and warn: what to change. */
  fix?: string
}

const LABEL: Record<StepStatus, string> = { ok: 'ok  ', warn: 'warn', skip: 'skip', fail: 'FAIL' }

export function formatStep (result: StepResult, width = 9): string {
  const fix = result.fix !== undefined && result.status !== 'ok' ? ` -> fix: ${result.fix}` : ''
  return `${LABEL[result.status]}  ${result.step.padEnd(width)}  ${result.detail}${fix}`
}

export function renderReport (results: StepResult[]): string {
  const width = Math.max(...results.map((r) => r.step.length))
  const count = (status: StepStatus): number => results.filter((r) => r.status === status).length
  const lines = results.map((r) => formatStep(r, width))
  lines.push(`${count('ok')} passed, ${count('fail')} failed, ${count('warn')} warnings, ${count('skip')} skipped`)
  return lines.join('\n') + '\n'
}

/** Exit 0 only when no step failed (warnings and skipped steps do not fail the check). */
export function exitCode (results: StepResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0
}
