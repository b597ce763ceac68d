// PHP for the tests of integrations/oro-bundle: Debian's php-cli with curl, phpunit, and the
// Symfony components and psr/log under /usr/share/php (what .ci/run installs). A missing piece
// skips locally with the command that installs it, and fails under CI=true.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { findBinary, serviceOptions } from './services.js'

export const PHP_PACKAGES = 'php-cli php-curl phpunit php-psr-log php-symfony-dependency-injection php-symfony-config php-symfony-http-kernel'

export const phpBinary = findBinary('php')
export const phpunitBinary = findBinary('phpunit')

const autoloaders = ['Psr/Log', 'Symfony/Component/DependencyInjection', 'Symfony/Component/Config', 'Symfony/Component/HttpKernel']
  .map((p) => `/usr/share/php/${p}/autoload.php`)

function hasCurl (): boolean {
  if (phpBinary === undefined) return false
  try {
    return execFileSync(phpBinary, ['-r', 'echo extension_loaded("curl") ? "yes" : "no";']).toString() === 'yes'
  } catch {
    return false
  }
}

/** What is missing, or '' when everything is there. */
export function missingPhp (): string {
  const missing: string[] = []
  if (phpBinary === undefined) missing.push('php')
  else if (!hasCurl()) missing.push('the curl extension')
  if (phpunitBinary === undefined) missing.push('phpunit')
  const absent = autoloaders.filter((file) => !existsSync(file))
  if (absent.length > 0) missing.push(absent.join(', '))
  return missing.join(', ')
}

/** tap options for a test that runs PHP. */
export function phpOptions (): { skip?: string } {
  const missing = missingPhp()
  return serviceOptions(missing === '', `PHP (${missing})`, `apt-get install ${PHP_PACKAGES}`)
}
