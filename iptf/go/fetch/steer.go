package fetch

import (
	"context"
	"math"
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
	probeWait       = 750 * time.Millisecond // longest wait for peers to say whether they have a file
	probeGrace      = 100 * time.Millisecond // wait after the second HAVE for more answers
	candidateTTL    = 30 * time.Second       // how long a file's list of holders is reused
	steerWantExpiry = 10 * time.Second       // a want unanswered this long goes elsewhere
	steerTick       = 200 * time.Millisecond
)

// answer is what a peer said about one wanted block.
type answer struct {
	from     peer.ID
	block    blocks.Block // set when the block came
	have     bool         // a HAVE (to a probe)
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
	prio    int32

	noteWanted func([]cid.Cid) // the peer guard's memory of wants sent (nil: none)
}

func newSteerer(h host.Host) *steerer {
	return &steerer{
		// Its own connect-event manager, never started: the node's bitswap tracks peers.
		host: h, net: bsnet.NewFromIpfsHost(h, bsnet.WithConnectEventManager(bsnetwork.NewConnectEventManager())),
		wants: map[cid.Cid]chan<- answer{}, landed: map[cid.Cid]chan struct{}{}, probes: map[cid.Cid]chan<- answer{},
		senders: map[peer.ID]*sender{}, holders: map[cid.Cid]holders{},
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
	deliver := func(to map[cid.Cid]chan<- answer, c cid.Cid, a answer) {
		if ch, ok := to[c]; ok {
			select {
			case ch <- a:
			default: // the fetch has all it can take; it re-asks on expiry
			}
		}
	}
	for _, b := range msg.Blocks() {
		deliver(s.wants, b.Cid(), answer{from: from, block: b})
	}
	for _, c := range msg.Haves() {
		deliver(s.probes, c, answer{from: from, have: true})
	}
	for _, c := range msg.DontHaves() {
		deliver(s.wants, c, answer{from: from, dontHave: true})
		deliver(s.probes, c, answer{from: from, dontHave: true})
	}
}

// sender is one peer's message stream; its messages go out one at a time.
type sender struct {
	mu sync.Mutex
	ms bsnetwork.MessageSender
}

// send sends p one message of wants (or cancels), opening a message stream on first use.
func (s *steerer) send(ctx context.Context, p peer.ID, cids []cid.Cid, kind pb.Message_Wantlist_WantType, cancel bool) error {
	s.mu.Lock()
	snd := s.senders[p]
	if snd == nil {
		snd = &sender{}
		s.senders[p] = snd
	}
	if !cancel && s.noteWanted != nil {
		s.noteWanted(cids) // a block that comes after its want was cancelled is still no forgery
	}
	msg := bsmsg.New(false)
	for _, c := range cids {
		if cancel {
			msg.Cancel(c)
			continue
		}
		msg.AddEntry(c, s.prio, kind, true)
		if s.prio > 1 {
			s.prio--
		}
	}
	s.mu.Unlock()
	snd.mu.Lock()
	defer snd.mu.Unlock()
	if snd.ms == nil {
		ms, err := s.net.NewMessageSender(ctx, p, &bsnetwork.MessageSenderOpts{
			MaxRetries: 1, SendTimeout: 5 * time.Second, SendErrorBackoff: 100 * time.Millisecond})
		if err != nil {
			return err
		}
		snd.ms = ms
	}
	if err := snd.ms.SendMsg(ctx, msg); err != nil {
		_ = snd.ms.Reset()
		snd.ms = nil
		return err
	}
	return nil
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
	if _, busy := s.probes[probe]; busy {
		s.mu.Unlock()
		return nil
	}
	peers := s.host.Network().Peers()
	answers := make(chan answer, len(peers))
	s.probes[probe] = answers
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.probes, probe)
		s.mu.Unlock()
	}()

	for _, p := range peers {
		go func() {
			if err := s.send(ctx, p, []cid.Cid{probe}, pb.Message_Wantlist_Have, false); err != nil {
				select {
				case answers <- answer{from: p, dontHave: true}:
				default:
				}
			}
		}()
	}
	var found []peer.ID
	deadline := time.NewTimer(probeWait)
	defer deadline.Stop()
	var grace <-chan time.Time
	for answered := 0; answered < len(peers); answered++ {
		select {
		case a := <-answers:
			if a.have {
				found = append(found, a.from)
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

func (s *steerer) connected(peers []peer.ID) []peer.ID {
	var out []peer.ID
	for _, p := range peers {
		if s.host.Network().Connectedness(p) == network.Connected {
			out = append(out, p)
		}
	}
	return out
}

// fetch gets the missing blocks from peers, each want-block to the peer with the fewest
// outstanding, and stores them with put. A block another running fetch wants already is not
// asked for twice: this fetch waits until that one has stored it or given up. Blocks it does
// not get (no peer left that has them, or the other fetch gave up) are left for the caller's
// bitswap session.
func (s *steerer) fetch(ctx context.Context, peers []peer.ID, missing []cid.Cid, put func(blocks.Block) error) error {
	answers := make(chan answer, len(missing)+len(peers)*steerPerPeer)
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
	tick := time.NewTicker(steerTick)
	defer tick.Stop()
	for !run.finished() {
		for p, cids := range run.assign() {
			if err := s.send(ctx, p, cids, pb.Message_Wantlist_Block, false); err != nil {
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
			case a.dontHave:
				run.refused(a.from)
			}
		case <-tick.C:
			for p, late := range run.expire(s.connected) {
				go func() { _ = s.send(context.WithoutCancel(ctx), p, late, 0, true) }()
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
		go func() { _ = s.send(context.Background(), p, cids, 0, true) }()
	}
}

// steerRun is the bookkeeping of one steered fetch: which blocks wait, which peer each
// outstanding want went to, and which peers are still worth asking.
type steerRun struct {
	todo  []cid.Cid
	out   map[cid.Cid]sent
	load  map[peer.ID]int
	peers []peer.ID // still usable, in the order they were given
	done  int
	total int
}

type sent struct {
	to peer.ID
	at time.Time
}

func newSteerRun(peers []peer.ID, missing []cid.Cid) *steerRun {
	return &steerRun{todo: append([]cid.Cid(nil), missing...), out: map[cid.Cid]sent{}, load: map[peer.ID]int{},
		peers: append([]peer.ID(nil), peers...), total: len(missing)}
}

func (r *steerRun) finished() bool { return r.done == r.total || len(r.todo) == 0 && len(r.out) == 0 }

// stuck reports that blocks wait but no usable peer is left.
func (r *steerRun) stuck() bool { return len(r.peers) == 0 }

// assign gives waiting blocks to the least loaded peers, up to steerPerPeer each.
func (r *steerRun) assign() map[peer.ID][]cid.Cid {
	batch := map[peer.ID][]cid.Cid{}
	for len(r.todo) > 0 {
		best := peer.ID("")
		for _, p := range r.peers {
			if r.load[p] < steerPerPeer && (best == "" || r.load[p] < r.load[best]) {
				best = p
			}
		}
		if best == "" {
			break
		}
		c := r.todo[0]
		r.todo = r.todo[1:]
		r.out[c] = sent{to: best, at: time.Now()}
		r.load[best]++
		batch[best] = append(batch[best], c)
	}
	return batch
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
