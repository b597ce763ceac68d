// The development publish key's file lives at a predictable path under the temp folder: it must
// not be written through a symlink someone planted, nor into a folder someone else made (issue 18).
import { test } from 'tap'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync, chownSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { devKeyFolder, readDevKey, removeDevKey, saveDevKey } from '../src/publish/dev-key.js'

function base (): string {
  return mkdtempSync(join(tmpdir(), 'h18-devkey-'))
}

test('the key is saved 0600 in a 0700 folder, read back, and removed', async (t) => {
  const root = base()
  const file = saveDevKey(4242, 'k3y', root)
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.equal(statSync(devKeyFolder(root)).mode & 0o777, 0o700)
  t.equal(readDevKey(4242, root), 'k3y')
  t.equal(saveDevKey(4242, 'n3w', root), file, 'a key left by an earlier run is replaced')
  t.equal(readDevKey(4242, root), 'n3w')
  removeDevKey(4242, root)
  t.equal(readDevKey(4242, root), undefined)
})

test('a symlink planted where the file goes is not written through', async (t) => {
  const root = base()
  mkdirSync(devKeyFolder(root), { mode: 0o700 })
  const victim = join(root, 'victim')
  writeFileSync(victim, 'precious\n')
  symlinkSync(victim, join(devKeyFolder(root), 'dev-publish-key-4243'))
  saveDevKey(4243, 'k3y', root)
  t.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the link\'s target is untouched')
  t.notOk(lstatSync(join(devKeyFolder(root), 'dev-publish-key-4243')).isSymbolicLink(), 'a new file replaced the link')
  t.equal(readDevKey(4243, root), 'k3y')
})

test('a folder that is a symlink, open to others, or someone else\'s is refused', async (t) => {
  const linked = base()
  const elsewhere = mkdtempSync(join(tmpdir(), 'h18-devkey-target-'))
  chmodSync(elsewhere, 0o700)
  symlinkSync(elsewhere, devKeyFolder(linked))
  t.throws(() => saveDevKey(4244, 'k3y', linked), /is not a folder \(a symlink/)
  t.equal(readDevKey(4244, linked), undefined)

  const open = base()
  mkdirSync(devKeyFolder(open))
  chmodSync(devKeyFolder(open), 0o777)
  t.throws(() => saveDevKey(4244, 'k3y', open), /can be used by other users \(mode 777\)/)

  const theirs = base()
  mkdirSync(devKeyFolder(theirs), { mode: 0o700 })
  if (process.getuid?.() === 0) {
    chownSync(devKeyFolder(theirs), 65534, 65534)
    t.throws(() => saveDevKey(4244, 'k3y', theirs), /belongs to uid 65534, not to this user/)
  } else {
    t.comment('not root: the owner check is not exercised here')
  }
})
