// The configuration is resolved once and then read, never written: loadConfig hands out a deeply
// frozen object, so a stray write (a plugin adjusting a limit, a key added at start) throws in
// strict mode instead of changing what another part of the gateway reads.

/**
 * Freezes `value` and every plain object and array under it. Other objects are left as they are:
 * Buffers (certificates; a typed array with elements cannot be frozen), RegExps (their lastIndex
 * moves), Maps, class instances with state of their own. Getters are not called.
 */
export function deepFreeze<T> (value: T): Readonly<T> {
  freeze(value, new Set())
  return value
}

function freeze (value: unknown, seen: Set<object>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return
  seen.add(value)
  if (!Array.isArray(value)) {
    const proto = Object.getPrototypeOf(value) as unknown
    if (proto !== Object.prototype && proto !== null) return
  }
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key)
    if (descriptor !== undefined && 'value' in descriptor) freeze(descriptor.value, seen)
  }
  Object.freeze(value)
}
