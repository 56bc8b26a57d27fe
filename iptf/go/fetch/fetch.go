// Package fetch makes byte ranges of UnixFS files local: it finds the blocks a range needs,
// level by level, and fetches the missing ones with a window of wants outstanding: from the
// peers that hold the file, each want to the least loaded (steer.go), when there are several;
// from its one holder and the other connected peers as they come to hold its blocks (a swarm
// of workers reading one dataset, steer.go) when there is one and others are connected;
// otherwise, and for whatever that leaves, in a bitswap session, where a block that stays
// late is asked for again (stalled.go). Readahead keeps the next window coming while a reader
// consumes the current one.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ipfs/boxo/blockservice"
	dag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/boxo/path"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	logging "github.com/ipfs/go-log/v2"
	"github.com/ipfs/kubo/core"
	"github.com/libp2p/go-libp2p/core/peer"

	"iptf.io/node/peerguard"
)

var log = logging.Logger("iptf/fetch")

// ErrNotRetrieved wraps what a bitswap session says when it ends a want without the block
// (boxo exports no value for it): no connected peer sent it.
var ErrNotRetrieved = errors.New("no peer sent the block")

// Readahead tuning: how far ahead of a sequential reader blocks are fetched.
const (
	DefaultWindow    = 32 << 20
	minWindow        = 12 // wants outstanding in a fetch, at least
	minSteered       = 4  // fewer missing blocks than this go to a bitswap session directly
	wantsPerPeer     = 3
	maxWindow        = 64
	prefetchDeadline = 2 * time.Minute
)

// Fetcher fetches ranges of files for one node.
type Fetcher struct {
	node  *core.IpfsNode
	steer *steerer // nil when the node has no network

	// Used, when set, hears of the blocks each fetch needed, present or brought (the cache
	// dates them); Hold, when set, keeps blocks from eviction until its release is called.
	Used func([]cid.Cid)
	Hold func([]cid.Cid) (release func())

	leaves *leaves // dag-pb blocks known to have no children

	mu      sync.Mutex
	ahead   map[cid.Cid]uint64 // per file root: end of the range already fetched or being fetched
	lastEnd map[cid.Cid]uint64 // per file root: where the last read ended
}

// New returns a Fetcher for the node. guard, the peer guard installed in the node's bitswap,
// hands it the messages that answer its steered wants and keeps their senders connected;
// without one (nil) every fetch goes through a bitswap session.
func New(node *core.IpfsNode, guard *peerguard.Guard) *Fetcher {
	f := &Fetcher{node: node, leaves: newLeaves(), ahead: map[cid.Cid]uint64{}, lastEnd: map[cid.Cid]uint64{}}
	if guard != nil && node.PeerHost != nil && node.IsOnline {
		f.steer = newSteerer(node.PeerHost)
		guard.AlsoWanted(f.steer.wanted)
		f.steer.noteWanted = guard.NoteWanted
		guard.Subscribe(f.steer.received)
	}
	return f
}

// piece is a subtree of the file: its root and the file bytes it covers.
type piece struct {
	c      cid.Cid
	offset uint64
	size   uint64
}

// Ensure makes the bytes [offset, offset+length) of the file rooted at root local.
func (f *Fetcher) Ensure(ctx context.Context, root ipld.Node, offset, length uint64) error {
	_, err := f.ensure(ctx, root, offset, length, nil)
	return err
}

// RootAlongside starts making the root block of the content path p (an /ipfs/ path) local
// while the caller resolves p, and returns what to call once the resolution has returned.
// Resolving through bitswap alone costs a fetch about 20 ms more: bitswap's client waits at
// least 20 ms after sending a peer one message before it sends that peer the next, so its
// want-block follows the want-have that found the holder only then. A block stored here
// reaches the resolution's bitswap session at once. Alongside, not ahead: when no connected
// peer has the block (content found through routing), the resolution does not wait for the
// connected peers' answers first.
func (f *Fetcher) RootAlongside(ctx context.Context, p path.Path) (stop func()) {
	c, missing := f.missingRoot(ctx, p)
	if !missing {
		return func() {} // the common case, a local root, starts nothing
	}
	ctx, cancel := context.WithCancel(ctx)
	go f.fetchRoot(ctx, c)
	return cancel
}

// Root makes the root block of the content path p (an /ipfs/ path) local, from the first
// connected peer that says it has it. What it does not bring (no connected peer has it, the
// node is offline, an /ipns/ name) is left to the path's resolution.
func (f *Fetcher) Root(ctx context.Context, p path.Path) {
	if c, missing := f.missingRoot(ctx, p); missing {
		f.fetchRoot(ctx, c)
	}
}

// missingRoot gives the root CID of p and whether Root has it to fetch: p is an /ipfs/ path,
// the node can steer, and the block is not local.
func (f *Fetcher) missingRoot(ctx context.Context, p path.Path) (cid.Cid, bool) {
	ip, err := path.NewImmutablePath(p)
	if f == nil || f.steer == nil || err != nil {
		return cid.Undef, false
	}
	c := ip.RootCid()
	has, err := f.node.Blockstore.Has(ctx, c)
	return c, err == nil && !has
}

func (f *Fetcher) fetchRoot(ctx context.Context, c cid.Cid) {
	if err := f.steer.one(ctx, c, f.store(ctx)); err != nil {
		log.Debugf("fetching %s ahead of its path: %s", c, err)
	}
}

// Keep makes [offset, offset+length) of the file local and holds its blocks (see Hold) until
// release is called, for a caller that keeps them by other means afterwards (a pin). It
// returns how many blocks below root the range has. release is never nil.
func (f *Fetcher) Keep(ctx context.Context, root ipld.Node, offset, length uint64) (blocks int, release func(), err error) {
	var held []func()
	release = func() {
		for _, r := range held {
			r()
		}
	}
	blocks, err = f.ensure(ctx, root, offset, length, &held)
	return blocks, release, err
}

// ensure is Ensure, and counts the blocks of the range; with held set, it holds every block
// of the range (see Hold) and adds the releases to held.
func (f *Fetcher) ensure(ctx context.Context, root ipld.Node, offset, length uint64, held *[]func()) (int, error) {
	if length == 0 {
		return 0, nil
	}
	end := offset + length
	level, err := overlapping(root, 0, offset, end)
	if err != nil {
		return 0, err
	}
	count := 0
	for len(level) > 0 {
		count += len(level)
		cids := make([]cid.Cid, len(level))
		for i, p := range level {
			cids[i] = p.c
		}
		if held != nil && f.Hold != nil {
			*held = append(*held, f.Hold(cids))
		}
		if f.Used != nil {
			f.Used(cids)
		}
		if err := f.getAll(ctx, root.Cid(), level); err != nil {
			return count, err
		}
		var next []piece
		for _, p := range level {
			if p.c.Prefix().Codec != cid.DagProtobuf || f.leaves.has(p.c) {
				continue
			}
			blk, err := f.node.Blockstore.Get(ctx, p.c)
			if err != nil {
				return count, err
			}
			nd, err := dag.DecodeProtobuf(blk.RawData())
			if err != nil {
				return count, fmt.Errorf("%s: %w", p.c, err)
			}
			if len(nd.Links()) == 0 {
				f.leaves.add(p.c)
			}
			children, err := overlapping(nd, p.offset, offset, end)
			if err != nil {
				return count, err
			}
			next = append(next, children...)
		}
		level = next
	}
	return count, nil
}

// overlapping lists the children of nd (which starts at base in the file) that hold bytes
// of [from, to).
func overlapping(nd ipld.Node, base, from, to uint64) ([]piece, error) {
	pn, ok := nd.(*dag.ProtoNode)
	if !ok || len(pn.Links()) == 0 {
		return nil, nil
	}
	fsn, err := unixfs.FSNodeFromBytes(pn.Data())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", nd.Cid(), err)
	}
	if fsn.NumChildren() != len(pn.Links()) {
		return nil, fmt.Errorf("%s: %d links but %d block sizes", nd.Cid(), len(pn.Links()), fsn.NumChildren())
	}
	var out []piece
	pos := base + uint64(len(fsn.Data()))
	for i, l := range pn.Links() {
		size := fsn.BlockSize(i)
		if pos < to && pos+size > from {
			out = append(out, piece{c: l.Cid, offset: pos, size: size})
		}
		pos += size
	}
	return out, nil
}

// getAll fetches the pieces' root blocks (of the file rooted at root) that are missing:
// steered to the least loaded of the file's holders when two or more are connected, or to its
// one holder and the connected peers that come to hold some, and what is still missing in one
// bitswap session with a window of wants outstanding.
func (f *Fetcher) getAll(ctx context.Context, root cid.Cid, pieces []piece) error {
	cids := make([]cid.Cid, len(pieces))
	for i, p := range pieces {
		cids[i] = p.c
	}
	missing, err := f.missing(ctx, cids)
	if err != nil || len(missing) == 0 {
		return err
	}
	if f.Used != nil { // dated again once here: a fetch can take a while
		wanted := missing
		defer func() { f.Used(wanted) }()
	}
	// In a random order when one peer holds the file: peers fetching the same file at the same
	// time then hold different blocks early and can serve each other, instead of all asking its
	// holder for the same blocks in the same order. From several holders, in the file's order.
	shuffle := func() { rand.Shuffle(len(missing), func(i, j int) { missing[i], missing[j] = missing[j], missing[i] }) }
	// A few blocks are not worth a probe for holders; once the holders are known, they are steered too.
	if f.steer != nil && (len(missing) >= minSteered || f.steer.knowsHolders(root)) {
		peers := f.steer.holdersOf(ctx, root, missing[0])
		var sharers []peer.ID
		if len(peers) == 1 {
			sharers = f.steer.sharers(peers)
			shuffle()
		}
		if len(peers) >= 2 || len(sharers) > 0 {
			if err := f.steer.fetch(ctx, root, peers, sharers, missing, f.window(), f.store(ctx)); err != nil {
				return err
			}
			if missing, err = f.missing(ctx, missing); err != nil || len(missing) == 0 {
				return err
			}
		}
	}
	shuffle()
	sess := blockservice.NewSession(ctx, f.node.Blocks)
	todo := make(chan cid.Cid, len(missing))
	for _, c := range missing {
		todo <- c
	}
	close(todo)
	workers := min(f.window(), len(missing))
	errs := make(chan error, workers)
	for i := 0; i < workers; i++ {
		go func() {
			for c := range todo {
				// Another fetch (a read and its readahead overlap) may have brought the block
				// meanwhile: GetBlock would read it back from its file only to drop it.
				if has, err := f.node.Blockstore.Has(ctx, c); err == nil && has {
					continue
				}
				blk, err := f.sessionGet(ctx, sess, root, c)
				if err != nil {
					if ctx.Err() == nil { // the session gave up on it (its peers went away)
						err = fmt.Errorf("%w: %s: %w", ErrNotRetrieved, c, err)
					}
					errs <- err
					return
				}
				f.leaves.note(blk)
			}
			errs <- nil
		}()
	}
	var first error
	for i := 0; i < workers; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// store returns how a steered fetch stores the blocks it brings.
func (f *Fetcher) store(ctx context.Context) func(blocks.Block) error {
	return func(b blocks.Block) error {
		f.leaves.note(b)
		return f.node.Blocks.AddBlock(ctx, b)
	}
}

// missing lists the blocks of cids the repo does not have.
func (f *Fetcher) missing(ctx context.Context, cids []cid.Cid) ([]cid.Cid, error) {
	var out []cid.Cid
	for _, c := range cids {
		has, err := f.node.Blockstore.Has(ctx, c)
		if err != nil {
			return nil, err
		}
		if !has {
			out = append(out, c)
		}
	}
	return out, nil
}

// window is how many wants a fetch keeps outstanding: enough to fill each connected peer's
// link, within bounds.
func (f *Fetcher) window() int {
	peers := 1
	if f.node.PeerHost != nil {
		peers = max(1, len(f.node.PeerHost.Network().Peers()))
	}
	return min(max(minWindow, wantsPerPeer*peers), maxWindow)
}

// Prefetch fetches [offset, offset+length) of the file in the background, unless that range
// is already fetched or being fetched. It never blocks.
func (f *Fetcher) Prefetch(root ipld.Node, offset, length uint64) {
	end := offset + length
	f.mu.Lock()
	if f.ahead[root.Cid()] >= end {
		f.mu.Unlock()
		return
	}
	if done := f.ahead[root.Cid()]; done > offset {
		offset = done
	}
	f.ahead[root.Cid()] = end
	f.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(f.node.Context(), prefetchDeadline)
		defer cancel()
		if err := f.Ensure(ctx, root, offset, end-offset); err != nil {
			log.Debugf("prefetch %s [%d,%d): %s", root.Cid(), offset, end, err)
			f.mu.Lock()
			if f.ahead[root.Cid()] == end {
				f.ahead[root.Cid()] = offset // let a later read try again
			}
			f.mu.Unlock()
		}
	}()
}

// Read makes [offset, offset+length) local, held until release is called (the caller reads
// it meanwhile), and, when the reader is going through the file in order, fetches the window
// after it at the same time. release is never nil.
func (f *Fetcher) Read(ctx context.Context, root ipld.Node, size, offset, length uint64) (release func(), err error) {
	end := offset + length
	f.mu.Lock()
	last, seen := f.lastEnd[root.Cid()]
	f.lastEnd[root.Cid()] = end
	f.mu.Unlock()
	sequential := offset == 0 || seen && offset+(1<<20) >= last && offset <= last+(1<<20)
	if sequential && end < size {
		// Started before this range is fetched, so the wants of both fill the links together
		// (the blocks they share are asked for once: see steerer.fetch).
		f.Prefetch(root, end, min(DefaultWindow, size-end))
	}
	var held []func()
	release = func() {
		for _, r := range held {
			r()
		}
		held = nil
	}
	if _, err := f.ensure(ctx, root, offset, length, &held); err != nil {
		release()
		return func() {}, err
	}
	return release, nil
}
