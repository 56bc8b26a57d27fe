// A loopback-only Helia test peer speaking JSON lines on stdin/stdout.
// Requests: {"cmd": "hash"|"start"|"add"|"connect"|"cat"|"stop", ...}; every answer is one JSON
// line, `{"error": "..."}` on failure. The process ends when stdin closes.
import './polyfill.mjs'
import { setMaxListeners } from 'node:events'
import { open } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { importer } from 'ipfs-unixfs-importer'
import { importPath } from './importing.mjs'

// Keep stdout for the protocol only: anything a library logs goes to stderr.
console.log = console.info = console.debug = console.error

let node = null

async function hash ({ path, options }) {
  const blockstore = new MemoryBlockstore()
  return { cid: await importPath(path, options, (src, opts) => importer(src, blockstore, opts)) }
}

async function start () {
  if (node == null) {
    const { startNode } = await import('./node.mjs') // loaded on demand: hashing needs no network
    node = await startNode()
  }
  return { peerId: node.helia.libp2p.peerId.toString(), multiaddrs: node.multiaddrs() }
}

function started () {
  if (node == null) throw new Error('node not started: send {"cmd":"start"} first')
  return node
}

async function add ({ path, options }) {
  const { fs } = started()
  return { cid: await importPath(path, options, (src, opts) => fs.addAll(src, opts)) }
}

async function connect ({ multiaddr: addr, timeoutMs = 30000 }) {
  const peer = await started().connect(addr, AbortSignal.timeout(timeoutMs))
  return { peerId: peer }
}

async function cat ({ cid, out, timeoutMs = 60000 }) {
  const { fs, parseCid } = started()
  const signal = AbortSignal.timeout(timeoutMs)
  setMaxListeners(Infinity, signal) // one signal is shared by every block request of the fetch
  const fh = await open(out, 'w')
  let bytes = 0
  try {
    for await (const chunk of fs.cat(parseCid(cid), { signal })) {
      await fh.write(chunk)
      bytes += chunk.byteLength
    }
  } finally {
    await fh.close()
  }
  return { bytes }
}

async function stop () {
  const n = node
  node = null
  if (n != null) await n.helia.stop()
  return { stopped: n != null }
}

const COMMANDS = { hash, start, add, connect, cat, stop }

function oneLine (err) {
  const msg = err?.message ? `${err.name ?? 'Error'}: ${err.message}` : String(err)
  return msg.replace(/\s*\n\s*/g, ' ')
}

async function handle (line) {
  let req
  try {
    req = JSON.parse(line)
  } catch {
    return { error: `bad JSON request: ${line.slice(0, 80)}` }
  }
  const fn = COMMANDS[req?.cmd]
  if (fn == null) return { error: `unknown cmd: ${JSON.stringify(req?.cmd)}` }
  try {
    return await fn(req)
  } catch (err) {
    return { error: oneLine(err) }
  }
}

process.on('unhandledRejection', (err) => console.error('unhandled rejection:', err))

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
let queue = Promise.resolve()
rl.on('line', (line) => {
  if (!line.trim()) return
  queue = queue.then(async () => {
    process.stdout.write(JSON.stringify(await handle(line)) + '\n')
  })
})
rl.on('close', () => {
  queue.then(stop).catch(() => {}).finally(() => process.exit(0))
})
