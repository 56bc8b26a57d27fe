package fetch

import (
	"context"
	"time"

	"github.com/ipfs/boxo/blockservice"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// Stalled wants: bitswap's client sends a want to a peer once. It sends it again only when no
// answer at all came for the block within 30 s, and any answer counts: a HAVE, or the block
// arriving after the want was cancelled (which the client then drops). A holder can still
// leave a want unanswered for good: boxo's server skips a want that arrives while the same
// block is being sent to that peer, as happens when a block is cancelled and soon wanted again
// (a cache that evicts while readers read ahead). The session then waits, with the holder
// connected and holding the block: a read of the cache-limit test, with both cores kept busy,
// waited out its minute in 1 of 14 runs. So a block a session has waited askAgainAfter for is
// also asked for straight from the file's holders, with the steerer's own want-block, and
// again every askAgainAfter until it is local: a new want, which the holder answers.
const askAgainAfter = steerWantExpiry

// sessionGet gets c (a block of the file rooted at root) through sess, asking for it again
// while it is late (see above).
func (f *Fetcher) sessionGet(ctx context.Context, sess *blockservice.Session, root, c cid.Cid) (blocks.Block, error) {
	if f.steer == nil {
		return sess.GetBlock(ctx, c)
	}
	waiting, stop := context.WithCancel(ctx)
	late := time.AfterFunc(askAgainAfter, func() { f.askAgainWhileLate(waiting, root, c) })
	defer func() {
		late.Stop()
		stop()
	}()
	return sess.GetBlock(ctx, c)
}

// askAgainWhileLate asks the holders of the file rooted at root for c, and again every
// askAgainAfter, until ctx ends (the block came, or its reader gave up).
func (f *Fetcher) askAgainWhileLate(ctx context.Context, root, c cid.Cid) {
	tick := time.NewTicker(askAgainAfter)
	defer tick.Stop()
	for {
		if has, err := f.node.Blockstore.Has(ctx, c); err != nil || has {
			return // the session hands it over
		}
		peers := f.steer.holdersOf(ctx, root, c)
		if len(peers) == 0 { // not known: whoever is connected may have it
			peers = f.node.PeerHost.Network().Peers()
		}
		log.Infof("fetch: %s still missing after %s; asking %d peers again", c, askAgainAfter, len(peers))
		if err := f.steer.fetch(ctx, root, peers, nil, []cid.Cid{c}, 1, f.store(ctx)); err != nil && ctx.Err() == nil {
			log.Debugf("fetch: asking again for %s: %s", c, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
