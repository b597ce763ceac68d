// Variable references in Oro's .env-app files, as Symfony's Dotenv resolves them: `$NAME` and
// `${NAME}` (and `${NAME:-default}`) take the real environment's value first, then the value the
// files gave NAME; `\$` is a literal dollar. Unknown names become ''.

const REFERENCE = /\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g

export function expandReferences (
  values: Record<string, string>,
  env: Record<string, string | undefined>
): Record<string, string> {
  const resolved: Record<string, string> = {}
  const resolving = new Set<string>()
  const resolve = (name: string): string | undefined => {
    const fromEnv = env[name]
    if (fromEnv !== undefined) return fromEnv
    if (resolved[name] !== undefined) return resolved[name]
    const raw = values[name]
    if (raw === undefined || resolving.has(name)) return undefined // unknown, or a loop: empty
    resolving.add(name)
    const value = substitute(raw)
    resolving.delete(name)
    resolved[name] = value
    return value
  }
  const substitute = (text: string): string => text.replace(REFERENCE, (match, braced?: string, fallback?: string, bare?: string) => {
    if (match === '\\$') return '$'
    const value = resolve((braced ?? bare) as string)
    return value === undefined || (value === '' && fallback !== undefined) ? (fallback ?? '') : value
  })
  for (const name of Object.keys(values)) resolve(name)
  return resolved
}
