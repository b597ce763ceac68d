// Hides the secrets of a URL-like setting (database and Redis URLs) for every output: `config`,
// logs, error messages. It must hold for URLs no parser accepts, since those are the ones an
// error message is about: a password with an unescaped `@`, `:`, `/`, `?` or `#` still ends at
// the last `@`, so everything between `://` and that `@` is taken as credentials.

const SECRET_QUERY_KEYS = /([?&;](?:[a-z_]*pass(?:word|wd)?|pwd|secret|token|key|auth|sentinel_password)=)[^&#;]*/gi

/** The URL with its password (and password-like query values) replaced by `***`. */
export function maskUrl (text: string): string {
  let masked = text
  const start = masked.indexOf('://')
  const at = masked.lastIndexOf('@')
  if (start !== -1 && at > start) {
    const userInfo = masked.slice(start + 3, at)
    const colon = userInfo.indexOf(':')
    // A user alone may be a password (redis://secret@host), and a user name with an unescaped
    // `/` or `@` may be part of a password: show only a user that is surely one.
    const user = colon === -1 ? '' : userInfo.slice(0, colon)
    const shown = user !== '' && !/[/?#@]/.test(user) ? `${user}:***` : (colon === -1 && userInfo === '' ? '' : '***')
    masked = masked.slice(0, start + 3) + shown + masked.slice(at)
  } else if (start === -1 && at !== -1) {
    // user:password@host without a scheme: nothing before the last @ is shown.
    masked = '***' + masked.slice(at)
  }
  return maskQuerySecrets(masked.replace(SECRET_QUERY_KEYS, '$1***'))
}

// Key passphrases in a DSN's context options (`context_options[passphrase]=...`, brackets written
// or percent-encoded): every DSN may hold one, secret setting or not.
const PASSPHRASE_QUERY = /((?:^|[?&;])[^=&#;]*passphrase(?:\]|%5D)?=)[^&#;]*/gi

/** A DSN with its context options' passphrases replaced by `***` (the rest as it is). */
export function maskQuerySecrets (text: string): string {
  return text.replace(PASSPHRASE_QUERY, '$1***')
}

/** A secret setting's value as it may be shown: URLs keep their shape, anything else is hidden. */
export function maskSecretValue (text: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? maskUrl(text) : '****'
}
