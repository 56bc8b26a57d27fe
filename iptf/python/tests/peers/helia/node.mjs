// A light Helia node: TCP on 127.0.0.1 only, noise, yamux, identify and bitswap. No discovery,
// no bootstrap, no DHT, no delegated routing, no HTTP gateways; dials outside 127.0.0.0/8 are denied.
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { unixfs } from '@helia/unixfs'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createHeliaLight } from 'helia'
import { CID } from 'multiformats/cid'

const LOOPBACK = /^\/ip4\/127\.\d+\.\d+\.\d+\//

function notLoopback (ma) {
  return !LOOPBACK.test(ma.toString() + '/')
}

/** Start the node; returns handles the peer commands use. */
export async function startNode () {
  const helia = withBitswap(withLibp2pLight(createHeliaLight(), {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    services: { identify: identify() },
    connectionGater: { denyDialMultiaddr: notLoopback }
  }))
  await helia.start()
  return {
    helia,
    fs: unixfs(helia),
    parseCid: (s) => CID.parse(s),
    multiaddrs: () => helia.libp2p.getMultiaddrs().map((ma) => ma.toString()),
    async connect (addr, signal) {
      const ma = multiaddr(addr)
      if (notLoopback(ma)) throw new Error(`refusing to dial outside 127.0.0.0/8: ${addr}`)
      const conn = await helia.libp2p.dial(ma, { signal })
      return conn.remotePeer.toString()
    }
  }
}
