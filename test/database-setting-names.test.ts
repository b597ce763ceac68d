// Messages about Oro's database name the variable it came from (issue 16: ORO_DB_DSN is the one
// Oro's Doctrine connection takes, and some installs set only that one), not ORO_DB_URL always.
import { test } from 'tap'
import { createUserStore } from '../src/auth/user-store.js'
import { ConfigError } from '../src/config/errors.js'

test('MySQL options the driver refuses: the error names ORO_DB_DSN when the URL came from it', async (t) => {
  const url = 'mysql://oro:pass@127.0.0.1:3306/oro_db?charset=no_such_charset'
  for (const setting of ['ORO_DB_DSN', 'ORO_DB_URL']) {
    try {
      const store = createUserStore(url, { setting })
      await store.close()
      t.fail('accepted')
    } catch (err) {
      t.ok(err instanceof ConfigError)
      t.equal((err as ConfigError).setting, setting, `${setting}: named`)
    }
  }
})
