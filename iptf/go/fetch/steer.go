package fetch

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"time"

	bsmsg "github.com/ipfs/boxo/bitswap/message"
	pb "github.com/ipfs/boxo/bitswap/message/pb"
	bsnetwork "github.com/ipfs/boxo/bitswap/network"
	"github.com/ipfs/boxo/bitswap/network/bsnet"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Steering: when several peers hold a file, a bitswap session sends each want-block to a
// peer picked at random, weighted by which peers answered first before. Nothing in that
// choice looks at how many blocks a peer already has queued, so on links of equal speed the
// blocks pile up unevenly and the most loaded peer sets the pace (four providers measured at
// 1.7-2.0x one). The steerer sends the want-blocks of a bulk fetch itself, over bitswap's own
// messages and network code, each to the peer with the fewest blocks outstanding. Blocks come
// back through the node's bitswap, which names each by hashing its bytes, so a block is only
// taken for the CID its bytes hash to; the peer guard drops a peer sending anything else.
const (
	steerPerPeer    = 4                      // want-blocks outstanding per peer
	holderPerPeer   = 8                      // the same at each of several holders of the whole file
	probeWait       = 750 * time.Millisecond // longest wait for peers to say whether they have a file
	probeGrace      = 100 * time.Millisecond // wait after the second HAVE for more answers
	candidateTTL    = 30 * time.Second       // how long a file's list of holders is reused
	steerWantExpiry = 10 * time.Second       // a want unanswered this long goes elsewhere
	steerTick       = 200 * time.Millisecond
	maxSharers      = 16          // connected peers asked to say when they come to hold a block (a swarm)
	foreignWait     = time.Second // a member silent this long loses its share to the holder (see Swarms)
)

// Swarms: when one peer holds the whole file and others are connected, those others may be
// fetching the same file (workers starting on one dataset together). The steerer then also asks
// them to say when they have each missing block (want-haves that wait: bitswap answers one with
// a HAVE as soon as the block arrives, and no DONT_HAVE meanwhile), and sends each want-block
// to a peer known to have that block before it sends it to the holder of everything. The
// holder is asked for the blocks no other peer has yet, in this fetch's random order, so
// workers take different blocks from it and pass them on among themselves. Each worker keeps
// fewer wants outstanding at the holder the more sharers it hears from (the holder's link
// stays as full: the workers together keep as many there), because every want that two
// workers send for the same block at once costs the holder a second copy: with four each,
// eight workers made the holder send 2.3 copies of the file, mostly at the end of each window,
// when few blocks are left that no worker holds. Once it has heard from sharers, a worker also
// splits the blocks with them by hash, alike on every worker that hears from the same peers:
// it asks the holder for its own share, and for another member's only once that member has
// said it has no block for foreignWait (it left, or reads another file), so that two workers
// seldom ask the holder for one block. A member still fetching its share keeps it however long
// the holder takes: with a fixed wait instead (the others' shares asked for once a fetch had
// run foreignWait), a window longer than the wait made the workers ask the holder for the
// blocks their owners were still waiting for: in six runs of the swarm benchmark, alternating,
// the holder sent 1.26-1.40 copies (mean 1.33) against 1.27-1.70 (mean 1.46) with a fixed three
// seconds, in the same time. A silent member costs the others that wait. A HAVE for
// a block still outstanding at the holder takes the want back from the holder (a cancel) to
// the sharer when a sharer that has it has room for the want (see had), and until a sharer is
// heard from the holder gets the wants a bitswap session would keep, so a node with one
// holder and unrelated peers connected fetches as fast as before.

// answer is what a peer said about one wanted block.
type answer struct {
	from     peer.ID
	c        cid.Cid      // the block it is about
	block    blocks.Block // set when the block came
	have     bool         // a HAVE (to a probe, or to a fetch's waiting want-have)
	message  uint64       // which received message said it (numbered in arrival order)
	dontHave bool
}

// holders is the list of peers found to have a file, and until when it is trusted.
type holders struct {
	peers   []peer.ID
	expires time.Time
}

// steerer sends want-blocks to chosen peers and routes the answers to the fetch waiting.
type steerer struct {
	host host.Host
	net  bsnetwork.BitSwapNetwork // used only to send; the node's bitswap receives

	mu      sync.Mutex
	wants   map[cid.Cid]chan<- answer // blocks wanted by a running fetch
	landed  map[cid.Cid]chan struct{} // closed when that fetch has stored the block, or gave up on it
	probes  map[cid.Cid]chan<- answer // blocks asked about (want-have) to find holders
	senders map[peer.ID]*sender
	holders map[cid.Cid]holders // per file root
	swarms  map[cid.Cid]holders // per file root: the sharers heard from by its last fetch
	prio    int32
	// messages counts the messages received, so that a fetch tells a sharer's first answer
	// (the blocks it held already) from later ones (blocks it came to hold: it is fetching).
	messages uint64

	noteWanted func([]cid.Cid) // the peer guard's memory of wants sent (nil: none)
}

func newSteerer(h host.Host) *steerer {
	return &steerer{
		// Its own connect-event manager, never started: the node's bitswap tracks peers.
		host: h, net: bsnet.NewFromIpfsHost(h, bsnet.WithConnectEventManager(bsnetwork.NewConnectEventManager())),
		wants: map[cid.Cid]chan<- answer{}, landed: map[cid.Cid]chan struct{}{}, probes: map[cid.Cid]chan<- answer{},
		senders: map[peer.ID]*sender{}, holders: map[cid.Cid]holders{}, swarms: map[cid.Cid]holders{},
		prio: math.MaxInt32,
	}
}

// wanted reports whether a running fetch wants c (for the peer guard).
func (s *steerer) wanted(c cid.Cid) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.wants[c]
	return ok
}

// received routes the parts of an incoming bitswap message that a fetch or probe waits for.
// It runs on bitswap's receiving goroutine and never blocks.
func (s *steerer) received(from peer.ID, msg bsmsg.BitSwapMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages++
	deliver := func(to map[cid.Cid]chan<- answer, c cid.Cid, a answer) {
		if ch, ok := to[c]; ok {
			select {
			case ch <- a:
			default: // the fetch has all it can take; it re-asks on expiry
			}
		}
	}
	for _, b := range msg.Blocks() {
		deliver(s.wants, b.Cid(), answer{from: from, c: b.Cid(), block: b})
		// Bitswap answers a want-have for a block of at most 1 KiB with the block itself.
		deliver(s.probes, b.Cid(), answer{from: from, c: b.Cid(), block: b, have: true})
	}
	for _, c := range msg.Haves() {
		deliver(s.probes, c, answer{from: from, c: c, have: true})
		deliver(s.wants, c, answer{from: from, c: c, have: true, message: s.messages})
	}
	for _, c := range msg.DontHaves() {
		deliver(s.wants, c, answer{from: from, c: c, dontHave: true})
		deliver(s.probes, c, answer{from: from, c: c, dontHave: true})
	}
}

// send sends p one message of wants, asking for a DONT_HAVE where p lacks a block, and waits
// until it has left, behind whatever was queued for p before it (see sender.go).
func (s *steerer) send(ctx context.Context, p peer.ID, cids []cid.Cid, kind pb.Message_Wantlist_WantType) error {
	sent := make(chan error, 1)
	s.enqueue(ctx, p, s.wantMessage(cids, kind, true), sent)
	return <-sent
}

// ask queues want-haves for p that wait for the blocks (no DONT_HAVE), without waiting.
func (s *steerer) ask(ctx context.Context, p peer.ID, cids []cid.Cid) {
	s.enqueue(ctx, p, s.wantMessage(cids, pb.Message_Wantlist_Have, false), nil)
}

// cancel queues cancels of cids for p, without waiting; they leave even once the fetch that
// decided them has ended.
func (s *steerer) cancel(p peer.ID, cids []cid.Cid) {
	msg := bsmsg.New(false)
	for _, c := range cids {
		msg.Cancel(c)
	}
	s.enqueue(context.Background(), p, msg, nil)
}

// wantMessage is a message of wants for cids, each a lower priority than the one before.
func (s *steerer) wantMessage(cids []cid.Cid, kind pb.Message_Wantlist_WantType, sendDontHave bool) bsmsg.BitSwapMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noteWanted != nil {
		s.noteWanted(cids) // a block that comes after its want was cancelled is still no forgery
	}
	msg := bsmsg.New(false)
	for _, c := range cids {
		msg.AddEntry(c, s.prio, kind, sendDontHave)
		if s.prio > 1 {
			s.prio--
		}
	}
	return msg
}

// holdersOf returns the connected peers that have the file rooted at root, found by asking
// every connected peer whether it has probe (one of the file's blocks), or reused from the
// last time within candidateTTL.
func (s *steerer) holdersOf(ctx context.Context, root, probe cid.Cid) []peer.ID {
	s.mu.Lock()
	if h, ok := s.holders[root]; ok && time.Now().Before(h.expires) {
		s.mu.Unlock()
		return s.connected(h.peers)
	}
	s.mu.Unlock()
	found, _, ok := s.probe(ctx, probe, false)
	if !ok {
		return nil
	}
	s.mu.Lock()
	s.holders[root] = holders{peers: found, expires: time.Now().Add(candidateTTL)}
	for r, h := range s.holders { // forget lists that expired
		if time.Now().After(h.expires) {
			delete(s.holders, r)
		}
	}
	s.mu.Unlock()
	return found
}

// probe asks every connected peer whether it has c and returns those that say so: all of
// them (it waits for every answer, at most probeWait, and probeGrace once two have said so),
// or, with first set, the first one. A peer may answer with the block itself (bitswap does for
// a block of at most 1 KiB): blk is then that block. ok is false when a probe for c runs already.
func (s *steerer) probe(ctx context.Context, c cid.Cid, first bool) (found []peer.ID, blk blocks.Block, ok bool) {
	s.mu.Lock()
	if _, busy := s.probes[c]; busy {
		s.mu.Unlock()
		return nil, nil, false
	}
	peers := s.host.Network().Peers()
	answers := make(chan answer, 2*len(peers))
	s.probes[c] = answers
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.probes, c)
		s.mu.Unlock()
	}()

	for _, p := range peers {
		go func() {
			if err := s.send(ctx, p, []cid.Cid{c}, pb.Message_Wantlist_Have); err != nil {
				select {
				case answers <- answer{from: p, dontHave: true}:
				default:
				}
			}
		}()
	}
	deadline := time.NewTimer(probeWait)
	defer deadline.Stop()
	var grace <-chan time.Time
	for answered := map[peer.ID]bool{}; len(answered) < len(peers); {
		select {
		case a := <-answers:
			if answered[a.from] {
				continue // its block after its HAVE, or the other way round
			}
			answered[a.from] = true
			if a.block != nil && blk == nil {
				blk = a.block
			}
			if a.have {
				found = append(found, a.from)
				if first {
					return found, blk, true
				}
				if len(found) == 2 {
					grace = time.After(probeGrace)
				}
			}
			continue
		case <-grace:
		case <-deadline.C:
		case <-ctx.Done():
		}
		break
	}
	return found, blk, true
}

// one makes the block c local, asked of the first connected peer that says it has it. When no
// peer says so, it brings nothing and leaves the block to bitswap, which can look further.
func (s *steerer) one(ctx context.Context, c cid.Cid, put func(blocks.Block) error) error {
	found, blk, _ := s.probe(ctx, c, true)
	switch {
	case blk != nil:
		return put(blk)
	case len(found) == 0:
		return nil
	}
	return s.fetch(ctx, c, found, nil, []cid.Cid{c}, 1, put)
}

// sharers lists up to maxSharers connected peers other than holders: peers that may come to
// hold blocks of the file while this node fetches it.
func (s *steerer) sharers(holders []peer.ID) []peer.ID {
	var out []peer.ID
	for _, p := range s.host.Network().Peers() {
		if len(out) == maxSharers {
			break
		}
		if !slices.Contains(holders, p) {
			out = append(out, p)
		}
	}
	return out
}

// knowsHolders reports whether the holders of the file rooted at root are known (holdersOf
// answers without asking peers).
func (s *steerer) knowsHolders(root cid.Cid) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.holders[root]
	return ok && time.Now().Before(h.expires)
}

func (s *steerer) connected(peers []peer.ID) []peer.ID {
	var out []peer.ID
	for _, p := range peers {
		if s.host.Network().Connectedness(p) == network.Connected {
			out = append(out, p)
		}
	}
	return out
}

// fetch gets the missing blocks from peers (holders of the whole file), each want-block to the
// peer with the fewest outstanding, and stores them with put. sharers are peers that may come
// to hold some of the blocks (see Swarms above): they are asked to say so, and a block one of
// them has goes to it rather than to a holder. A block another running fetch wants already is
// not asked for twice: this fetch waits until that one has stored it or given up. Blocks it
// does not get (no peer left that has them, or the other fetch gave up) are left for the
// caller's bitswap session.
func (s *steerer) fetch(ctx context.Context, root cid.Cid, peers, sharers []peer.ID, missing []cid.Cid, window int,
	put func(blocks.Block) error) error {
	answers := make(chan answer, len(missing)*(1+len(sharers))+len(peers)*holderPerPeer)
	s.mu.Lock()
	var mine []cid.Cid           // the wants this fetch registered
	var others []<-chan struct{} // when the blocks other fetches want have landed
	for _, c := range missing {
		if _, taken := s.wants[c]; taken {
			others = append(others, s.landed[c])
			continue
		}
		s.wants[c] = answers
		s.landed[c] = make(chan struct{})
		mine = append(mine, c)
	}
	s.mu.Unlock()
	defer s.release(mine, answers)

	run := newSteerRun(peers, mine)
	if len(sharers) > 0 && len(mine) > 0 {
		run.self, run.alone = s.host.ID(), window
		s.mu.Lock()
		swarm := s.swarms[root]
		s.mu.Unlock()
		for _, p := range sharers {
			run.share(p, time.Now().Before(swarm.expires) && slices.Contains(swarm.peers, p))
			s.ask(ctx, p, mine)
		}
		defer func() { // the want-haves wait at the sharers until cancelled
			for _, p := range sharers {
				s.cancel(p, mine)
			}
			s.mu.Lock()
			s.swarms[root] = holders{peers: run.activeSharers(), expires: time.Now().Add(candidateTTL)}
			for r, h := range s.swarms {
				if time.Now().After(h.expires) {
					delete(s.swarms, r)
				}
			}
			s.mu.Unlock()
		}()
	}
	tick := time.NewTicker(steerTick)
	defer tick.Stop()
	for !run.finished() {
		for p, cids := range run.assign() {
			if err := s.send(ctx, p, cids, pb.Message_Wantlist_Block); err != nil {
				log.Debugf("steer: sending wants to %s: %s", p, err)
				run.drop(p)
			}
		}
		if run.stuck() {
			break
		}
		select {
		case a := <-answers:
			switch {
			case a.block != nil:
				if !run.arrived(a.block.Cid()) {
					continue // a duplicate
				}
				if err := put(a.block); err != nil {
					return err
				}
				s.release([]cid.Cid{a.block.Cid()}, answers)
			case a.have:
				if holder := run.had(a.from, a.c, a.message); holder != "" {
					s.cancel(holder, []cid.Cid{a.c})
				}
			case a.dontHave:
				run.refused(a.from)
			}
		case <-tick.C:
			for p, late := range run.expire(s.connected) {
				s.cancel(p, late)
			}
		case <-ctx.Done():
			s.cancelAll(run)
			return ctx.Err()
		}
	}
	s.cancelAll(run)
	s.release(mine, answers) // before waiting: a fetch waiting for these must not wait for this one
	for _, landed := range others {
		select {
		case <-landed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// release ends the wants of cids that the fetch answering on answers registered: the block
// landed, or the fetch gave up on it.
func (s *steerer) release(cids []cid.Cid, answers chan answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cids {
		if s.wants[c] == answers {
			delete(s.wants, c)
			close(s.landed[c])
			delete(s.landed, c)
		}
	}
}

// cancelAll cancels what a fetch still has outstanding, so peers do not send it later.
func (s *steerer) cancelAll(run *steerRun) {
	for p, cids := range run.outstandingByPeer() {
		s.cancel(p, cids)
	}
}

// steerRun is the bookkeeping of one steered fetch: which blocks wait, which peer each
// outstanding want went to, and which peers are still worth asking.
type steerRun struct {
	todo    []cid.Cid
	out     map[cid.Cid]sent
	load    map[peer.ID]int
	peers   []peer.ID // holders of every block, still usable, in the order they were given
	sharers map[peer.ID]bool
	active  map[peer.ID]bool      // sharers that said they have some block
	has     map[cid.Cid][]peer.ID // sharers that said they have a waiting block
	alone   int                   // wants outstanding at a single holder while no sharer is active
	self    peer.ID               // this node, when the blocks are split with active sharers
	members []peer.ID             // self and the active sharers, sorted (the split's members)
	heard   map[peer.ID]time.Time // when each sharer last said it has a block
	first   map[peer.ID]uint64    // the message of each sharer's first HAVE in this fetch
	started time.Time
	dropped map[peer.ID]bool
	done    int
	total   int
}

type sent struct {
	to peer.ID
	at time.Time
}

func newSteerRun(peers []peer.ID, missing []cid.Cid) *steerRun {
	return &steerRun{todo: append([]cid.Cid(nil), missing...), out: map[cid.Cid]sent{}, load: map[peer.ID]int{},
		peers: append([]peer.ID(nil), peers...), sharers: map[peer.ID]bool{}, active: map[peer.ID]bool{}, has: map[cid.Cid][]peer.ID{},
		heard: map[peer.ID]time.Time{}, first: map[peer.ID]uint64{}, dropped: map[peer.ID]bool{}, total: len(missing), started: time.Now()}
}

func (r *steerRun) finished() bool { return r.done == r.total || len(r.todo) == 0 && len(r.out) == 0 }

// stuck reports that blocks wait but no usable peer is left: no holder, and no sharer that
// has one of the waiting blocks.
func (r *steerRun) stuck() bool {
	if len(r.peers) > 0 || len(r.out) > 0 {
		return false
	}
	for _, c := range r.todo {
		for _, p := range r.has[c] {
			if !r.dropped[p] {
				return false
			}
		}
	}
	return true
}

// share counts p among the sharers: a peer that may come to hold some of the blocks; active:
// it held blocks of the same file in an earlier fetch.
func (r *steerRun) share(p peer.ID, active bool) {
	r.sharers[p] = true
	if active {
		r.activate(p)
	}
}

// activate counts sharer p among those heard from, and among the members of the split.
func (r *steerRun) activate(p peer.ID) {
	if r.active[p] {
		return
	}
	r.active[p] = true
	r.members = append(r.activeSharers(), r.self)
	slices.Sort(r.members)
}

// owner is the member whose share c is, the one to ask a holder for it: this node when no
// sharer is active (no split), so that then every block is its own.
func (r *steerRun) owner(c cid.Cid) peer.ID {
	h := c.Hash()
	if r.self == "" || len(r.members) < 2 || len(h) < 8 {
		return r.self
	}
	return r.members[binary.BigEndian.Uint64(h[len(h)-8:])%uint64(len(r.members))]
}

// quiet reports whether member p has said it has no block for foreignWait, in this fetch: it
// is not fetching its share (it left, or reads another file), so its share goes to the holder.
func (r *steerRun) quiet(p peer.ID) bool {
	last := r.started
	if t, ok := r.heard[p]; ok && t.After(last) {
		last = t
	}
	return time.Since(last) > foreignWait
}

// activeSharers lists the sharers that said they have some block.
func (r *steerRun) activeSharers() []peer.ID {
	out := make([]peer.ID, 0, len(r.active))
	for p := range r.active {
		out = append(out, p)
	}
	return out
}

// had records that sharer p has block c, as it said in the given received message.
//
// A block still outstanding at a holder is taken back (the caller cancels it there, and
// returns it as cancelAt): the holder's queue is what a swarm waits on, and the holder has
// often not started to send it yet.
func (r *steerRun) had(p peer.ID, c cid.Cid, message uint64) (cancelAt peer.ID) {
	if !r.sharers[p] || r.dropped[p] {
		return ""
	}
	r.heard[p] = time.Now()
	if slices.Contains(r.has[c], p) {
		return ""
	}
	// A sharer's first answer lists the blocks it held already; one that says in a later
	// message that it came to hold a block is fetching, and becomes a member. A peer holding
	// part of the file from an earlier read answers once and serves what it has, but takes no
	// share: its share would wait at the holder for foreignWait at every read next to it.
	if first, seen := r.first[p]; !seen {
		r.first[p] = message
	} else if message != first {
		r.activate(p)
	}
	s, waiting := r.out[c]
	if !waiting && !slices.Contains(r.todo, c) {
		return ""
	}
	r.has[c] = append(r.has[c], p)
	// Taken back from the holder only when a sharer that has it can take the want at once:
	// otherwise the next assign would give it straight back to the holder, a cancel and a new
	// want for nothing, the new one behind everything queued there.
	if waiting && !r.sharers[s.to] && r.leastLoaded(r.has[c], steerPerPeer) != "" {
		delete(r.out, c)
		r.load[s.to]--
		r.todo = append([]cid.Cid{c}, r.todo...)
		return s.to
	}
	return ""
}

// assign gives waiting blocks to the least loaded peers, up to steerPerPeer each: a block to a
// sharer that has it if one is free, otherwise to a holder of every block.
func (r *steerRun) assign() map[peer.ID][]cid.Cid {
	batch := map[peer.ID][]cid.Cid{}
	var left []cid.Cid
	for _, c := range r.todo {
		best := r.leastLoaded(r.has[c], steerPerPeer)
		if owner := r.owner(c); best == "" && (owner == r.self || r.quiet(owner)) {
			best = r.leastLoaded(r.peers, r.holderLimit())
		}
		if best == "" {
			left = append(left, c)
			continue
		}
		r.out[c] = sent{to: best, at: time.Now()}
		r.load[best]++
		batch[best] = append(batch[best], c)
		delete(r.has, c)
	}
	r.todo = left
	return batch
}

// holderLimit is how many wants may be outstanding at each holder of every block:
// holderPerPeer when several hold the file; steerPerPeer when one does, shared with the
// sharers heard from (see Swarms), at least one.
func (r *steerRun) holderLimit() int {
	switch {
	case len(r.sharers) == 0: // several holders
		return holderPerPeer
	case len(r.active) == 0: // one holder, and nobody else seen fetching: as a bitswap session would
		return max(steerPerPeer, r.alone)
	}
	return min(steerPerPeer, max(1, (2*steerPerPeer+len(r.active))/(1+len(r.active))))
}

// leastLoaded is the usable peer of peers with the fewest wants outstanding, below limit
// ("" for none).
func (r *steerRun) leastLoaded(peers []peer.ID, limit int) peer.ID {
	best := peer.ID("")
	for _, p := range peers {
		if !r.dropped[p] && r.load[p] < limit && (best == "" || r.load[p] < r.load[best]) {
			best = p
		}
	}
	return best
}

// arrived records a block and reports whether it was still awaited.
func (r *steerRun) arrived(c cid.Cid) bool {
	s, ok := r.out[c]
	if !ok {
		for i, t := range r.todo { // came from a peer asked earlier, after a re-ask was queued
			if t == c {
				r.todo = append(r.todo[:i], r.todo[i+1:]...)
				r.done++
				return true
			}
		}
		return false
	}
	delete(r.out, c)
	r.load[s.to]--
	r.done++
	return true
}

// refused takes a peer that said it lacks a block out of the run and re-queues its wants.
func (r *steerRun) refused(p peer.ID) { r.drop(p) }

// drop stops using p and puts its outstanding wants back at the front of the queue.
func (r *steerRun) drop(p peer.ID) {
	r.dropped[p] = true
	for i, q := range r.peers {
		if q == p {
			r.peers = append(r.peers[:i], r.peers[i+1:]...)
			break
		}
	}
	var back []cid.Cid
	for c, s := range r.out {
		if s.to == p {
			back = append(back, c)
			delete(r.out, c)
		}
	}
	r.load[p] = 0
	r.todo = append(back, r.todo...)
}

// expire drops peers that disconnected or left a want unanswered for steerWantExpiry, and
// returns, per dropped peer, the wants to cancel there.
func (r *steerRun) expire(connected func([]peer.ID) []peer.ID) map[peer.ID][]cid.Cid {
	live := map[peer.ID]bool{}
	for _, p := range connected(r.peers) {
		live[p] = true
	}
	slow := map[peer.ID]bool{}
	for _, p := range r.peers {
		if !live[p] {
			slow[p] = true
		}
	}
	for _, s := range r.out {
		if time.Since(s.at) > steerWantExpiry {
			slow[s.to] = true
		}
	}
	cancels := map[peer.ID][]cid.Cid{}
	for p := range slow {
		for c, s := range r.out {
			if s.to == p {
				cancels[p] = append(cancels[p], c)
			}
		}
		r.drop(p)
	}
	return cancels
}

func (r *steerRun) outstandingByPeer() map[peer.ID][]cid.Cid {
	out := map[peer.ID][]cid.Cid{}
	for c, s := range r.out {
		out[s.to] = append(out[s.to], c)
	}
	return out
}
