// Headless Chromium (Debian's package) driven by playwright-core, for tests of what a real
// browser's WebSocket stack does with the gateway.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

/** extraArgs: more Chromium flags, e.g. --ignore-certificate-errors-spki-list=<hash> to trust a test CA. */
export async function launchChromium (t: { teardown (fn: () => unknown): void }, extraArgs: string[] = []): Promise<Browser> {
  if (chromiumPath === undefined) throw new Error('chromium is not installed')
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // Root in CI; no network but loopback here, so nothing in the background. playwright gives
    // each launch a fresh, empty profile.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...extraArgs]
  })
  t.teardown(() => browser.close())
  return browser
}
