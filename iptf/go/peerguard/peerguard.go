// Package peerguard drops peers that send bad blocks. Bitswap names each received block by
// hashing its bytes, so a corrupted or forged block arrives under a CID nobody wanted; the
// guard sees every incoming bitswap message before the client handles it and disconnects a
// peer whose block is neither wanted, nor wanted recently, nor already stored, and keeps it
// disconnected while the node runs. (Such a block is never stored: nothing wanted it.)
package peerguard

import (
	"context"
	"sync"
	"time"

	bsmsg "github.com/ipfs/boxo/bitswap/message"
	blockstore "github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	logging "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

var log = logging.Logger("iptf/peerguard")

const (
	recentWants  = 1 << 16 // CIDs remembered as recently wanted (late duplicates are fine)
	seenMessages = 256     // messages remembered, to look at each one once
)

// fifoSet is a set that forgets its oldest members beyond a size.
type fifoSet[T comparable] struct {
	set   map[T]struct{}
	order []T
	max   int
}

func newFifoSet[T comparable](max int) *fifoSet[T] {
	return &fifoSet[T]{set: map[T]struct{}{}, max: max}
}

func (s *fifoSet[T]) add(v T) bool {
	if _, ok := s.set[v]; ok {
		return false
	}
	if len(s.order) >= s.max {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
	s.set[v] = struct{}{}
	s.order = append(s.order, v)
	return true
}

func (s *fifoSet[T]) has(v T) bool {
	_, ok := s.set[v]
	return ok
}

// Drop records why and when a peer was dropped.
type Drop struct {
	Time   time.Time
	Reason string
}

// Guard is a bitswap tracer that drops peers sending blocks nobody wanted, and hands every
// other incoming message to its subscribers (and word of blocks sent, OnServed).
type Guard struct {
	mu      sync.Mutex
	recent  *fifoSet[cid.Cid]
	seen    *fifoSet[bsmsg.BitSwapMessage]
	dropped map[peer.ID]Drop
	host    host.Host
	wants   func() []cid.Cid
	blocks  blockstore.Blockstore
	wanted  []func(cid.Cid) bool                  // wants made outside bitswap's client
	subs    []func(peer.ID, bsmsg.BitSwapMessage) // see Subscribe
	served  []func(peer.ID)                       // see OnServed
}

// AlsoWanted adds a source of wanted blocks besides bitswap's wantlist: wants sent to peers
// directly (package fetch), whose blocks are no reason to drop the sender.
func (g *Guard) AlsoWanted(wanted func(cid.Cid) bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.wanted = append(g.wanted, wanted)
}

// Subscribe calls fn with every incoming bitswap message whose sender was not dropped for it.
// fn runs on bitswap's receiving goroutine: it must not block.
func (g *Guard) Subscribe(fn func(peer.ID, bsmsg.BitSwapMessage)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.subs = append(g.subs, fn)
}

// OnServed calls fn each time bitswap sends a peer blocks it asked for. fn runs on bitswap's
// sending goroutine: it must not block.
func (g *Guard) OnServed(fn func(peer.ID)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.served = append(g.served, fn)
}

// New returns a guard that checks nothing until Watch gives it its node.
func New() *Guard {
	return &Guard{
		recent:  newFifoSet[cid.Cid](recentWants),
		seen:    newFifoSet[bsmsg.BitSwapMessage](seenMessages),
		dropped: map[peer.ID]Drop{},
	}
}

// MessageSent implements the bitswap tracer: every CID bitswap asks a peer for is remembered
// as recently wanted, so that a block answering a want cancelled meanwhile (a reader that
// stopped) is a late duplicate, not a forgery.
func (g *Guard) MessageSent(p peer.ID, msg bsmsg.BitSwapMessage) {
	if len(msg.Blocks()) > 0 {
		g.mu.Lock()
		served := g.served
		g.mu.Unlock()
		for _, fn := range served {
			fn(p)
		}
	}
	var cids []cid.Cid
	for _, e := range msg.Wantlist() {
		if !e.Cancel {
			cids = append(cids, e.Cid)
		}
	}
	g.NoteWanted(cids)
}

// NoteWanted remembers cids as recently wanted: wants sent outside bitswap's client
// (package fetch) call it as they send them.
func (g *Guard) NoteWanted(cids []cid.Cid) {
	if len(cids) == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cids {
		g.recent.add(c)
	}
}

// MessageReceived checks the blocks of a message the first time bitswap reports it (before
// the client handles them, while their wants are still listed), then hands it on.
func (g *Guard) MessageReceived(p peer.ID, msg bsmsg.BitSwapMessage) {
	g.mu.Lock()
	first := g.seen.add(msg)
	subs := g.subs
	g.mu.Unlock()
	if !first || !g.check(p, msg.Blocks()) {
		return
	}
	for _, fn := range subs {
		fn(p, msg)
	}
}

// check reports whether every block was wanted, and drops p if not.
func (g *Guard) check(p peer.ID, blks []blocks.Block) bool {
	if len(blks) == 0 {
		return true
	}
	g.mu.Lock()
	if g.wants == nil || g.blocks == nil {
		g.mu.Unlock()
		return true
	}
	for _, c := range g.wants() {
		g.recent.add(c)
	}
	var bad cid.Cid
	for _, b := range blks {
		if !g.recent.has(b.Cid()) && !g.wantedElsewhere(b.Cid()) {
			bad = b.Cid()
			break
		}
	}
	g.mu.Unlock()
	if !bad.Defined() {
		return true
	}
	if has, err := g.blocks.Has(context.Background(), bad); err == nil && has {
		return true // a late duplicate of a block we already have
	}
	g.drop(p, "sent a block whose bytes match no CID that was wanted ("+bad.String()+")")
	return false
}

func (g *Guard) wantedElsewhere(c cid.Cid) bool {
	for _, wanted := range g.wanted {
		if wanted(c) {
			return true
		}
	}
	return false
}

func (g *Guard) drop(p peer.ID, reason string) {
	g.mu.Lock()
	g.dropped[p] = Drop{Time: time.Now(), Reason: reason}
	h := g.host
	g.mu.Unlock()
	log.Warnf("dropping peer %s: %s", p, reason)
	if h != nil {
		_ = h.Network().ClosePeer(p)
	}
}

// Dropped lists the peers dropped so far.
func (g *Guard) Dropped() map[string]Drop {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]Drop, len(g.dropped))
	for p, d := range g.dropped {
		out[p.String()] = d
	}
	return out
}

// Watch gives the guard its node's host, wantlist (nil without bitswap) and blockstore, and
// keeps dropped peers out: a new connection from one is closed at once.
func (g *Guard) Watch(h host.Host, wants func() []cid.Cid, blocks blockstore.Blockstore) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.host, g.wants, g.blocks = h, wants, blocks
	if h != nil {
		h.Network().Notify(&network.NotifyBundle{
			ConnectedF: func(_ network.Network, c network.Conn) {
				if g.isDropped(c.RemotePeer()) {
					go c.Close()
				}
			},
		})
	}
}

func (g *Guard) isDropped(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.dropped[p]
	return ok
}
