// Map kubo's `ipfs add` flags onto ipfs-unixfs-importer options, and turn a path into import
// candidates the way `ipfs add -r` (with hidden files) walks it.
import { createReadStream } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced, trickle } from 'ipfs-unixfs-importer/layout'

// kubo v0.22 defaults (docs/config.md Import.*, boxo importer): CIDv0, 256 KiB chunks,
// 174 links per node, raw leaves only with CIDv1, HAMT shards past 256 KiB (link-bytes estimate).
export const KUBO_DEFAULTS = Object.freeze({
  cidVersion: 0,
  chunker: 262144,
  maxChildrenPerNode: 174,
  layout: 'balanced',
  layerRepeat: 4,
  shardSplitThresholdBytes: 262144,
  shardSplitStrategy: 'links-bytes',
  shardFanoutBits: 8
})

const KNOWN = new Set([...Object.keys(KUBO_DEFAULTS), 'rawLeaves'])

/** Parse a chunker given as bytes (262144) or as kubo's "size-262144". */
function chunkSize (value) {
  const n = typeof value === 'string' && value.startsWith('size-') ? Number(value.slice(5)) : value
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new Error(`chunker must be a positive size in bytes or "size-N", got ${JSON.stringify(value)}`)
  }
  return n
}

/** ImporterOptions equal to `ipfs add` with the given kubo-style flags. */
export function importerOptions (flags = {}) {
  for (const key of Object.keys(flags)) {
    if (!KNOWN.has(key)) throw new Error(`unknown add option: ${key}`)
  }
  const o = { ...KUBO_DEFAULTS, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v != null)) }
  if (o.cidVersion !== 0 && o.cidVersion !== 1) throw new Error(`cidVersion must be 0 or 1, got ${o.cidVersion}`)
  if (!Number.isSafeInteger(o.maxChildrenPerNode) || o.maxChildrenPerNode < 2) {
    throw new Error(`maxChildrenPerNode must be an integer >= 2, got ${o.maxChildrenPerNode}`)
  }
  const rawLeaves = o.rawLeaves ?? o.cidVersion === 1
  if (typeof rawLeaves !== 'boolean') throw new Error('rawLeaves must be true or false')
  let layout
  let leaf
  if (o.layout === 'balanced') {
    layout = balanced({ maxChildrenPerNode: o.maxChildrenPerNode })
    // boxo balanced: a one-chunk file is its own leaf; v0 leaves are UnixFS File nodes.
    leaf = { reduceSingleLeafToSelf: true, leafType: 'file' }
  } else if (o.layout === 'trickle') {
    layout = trickle({ maxChildrenPerNode: o.maxChildrenPerNode, layerRepeat: o.layerRepeat })
    // boxo trickle: leaves are UnixFS Raw nodes and a single leaf still gets a root above it.
    leaf = { reduceSingleLeafToSelf: false, leafType: 'raw' }
  } else {
    throw new Error(`layout must be "balanced" or "trickle", got ${JSON.stringify(o.layout)}`)
  }
  return {
    cidVersion: o.cidVersion,
    rawLeaves,
    ...leaf,
    chunker: fixedSize({ chunkSize: chunkSize(o.chunker) }),
    layout,
    shardSplitThresholdBytes: o.shardSplitThresholdBytes,
    shardSplitStrategy: o.shardSplitStrategy,
    shardFanoutBits: o.shardFanoutBits,
    fieldOrder: 'links-first',
    wrapWithDirectory: false
  }
}

/** File bytes, opened only when the importer starts reading them. */
async function * fileContent (path) {
  yield * createReadStream(path, { highWaterMark: 1 << 20 })
}

async function * walk (dir, rel) {
  const names = (await readdir(dir)).sort()
  for (const name of names) {
    const abs = join(dir, name)
    const path = `${rel}/${name}`
    const st = await lstat(abs)
    if (st.isDirectory()) {
      yield { path }
      yield * walk(abs, path)
    } else if (st.isFile()) {
      yield { path, content: fileContent(abs) }
    } else {
      throw new Error(`not a regular file or directory: ${abs}`)
    }
  }
}

/** Import candidates for a file or a directory tree, and the path of the root entry. */
export async function candidates (root) {
  const st = await lstat(root)
  const top = basename(root) || 'root'
  if (st.isFile()) {
    return { top, source: [{ path: top, content: fileContent(root) }] }
  }
  if (!st.isDirectory()) throw new Error(`not a regular file or directory: ${root}`)
  async function * source () {
    yield { path: top }
    yield * walk(root, top)
  }
  return { top, source: source() }
}

/** Run an import (`addAll`-like function) over `root` and return the root entry's CID string. */
export async function importPath (root, flags, addAll) {
  const { top, source } = await candidates(root)
  let cid
  for await (const entry of addAll(source, importerOptions(flags))) {
    if (entry.path === top) cid = entry.cid
  }
  if (cid == null) throw new Error(`import of ${root} produced no root entry`)
  return cid.toString()
}
