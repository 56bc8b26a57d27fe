package fetch

import (
	"context"
	"slices"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"
)

func testCids(t *testing.T, n int) []cid.Cid {
	t.Helper()
	out := make([]cid.Cid, n)
	for i := range out {
		h, err := multihash.Sum([]byte{byte(i), byte(i >> 8)}, multihash.SHA2_256, -1)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = cid.NewCidV1(cid.Raw, h)
	}
	return out
}

func TestSteerRunGivesEachBlockToTheLeastLoadedPeer(t *testing.T) {
	peers := []peer.ID{"a", "b", "c"}
	blocks := testCids(t, 30)
	run := newSteerRun(peers, blocks)

	first := run.assign()
	for _, p := range peers {
		if len(first[p]) != holderPerPeer {
			t.Fatalf("peer %s got %d wants, want %d each: %v", p, len(first[p]), holderPerPeer, first)
		}
	}
	if more := run.assign(); len(more) != 0 {
		t.Fatalf("assigned beyond %d outstanding per peer: %v", holderPerPeer, more)
	}
	// b answers twice: the next two wants go to b, the least loaded.
	run.arrived(first["b"][0])
	run.arrived(first["b"][1])
	if next := run.assign(); len(next) != 1 || len(next["b"]) != 2 {
		t.Fatalf("after b answered twice: %v, want two wants for b", next)
	}
	// A block arriving twice counts once.
	if run.arrived(first["b"][0]) {
		t.Fatal("a duplicate block was counted again")
	}

	// a refuses: its outstanding wants go back first, to the others as they free up.
	run.refused("a")
	if len(run.peers) != 2 || run.load["a"] != 0 {
		t.Fatalf("after a refused: peers %v, load %v", run.peers, run.load)
	}
	requeued := map[cid.Cid]bool{}
	for _, c := range run.todo[:len(first["a"])] {
		requeued[c] = true
	}
	for _, c := range first["a"] {
		if !requeued[c] {
			t.Fatalf("a's want %s is not at the front of the queue", c)
		}
	}
	for !run.finished() {
		if batch := run.assign(); len(batch["a"]) > 0 {
			t.Fatal("wants sent to a peer that refused")
		}
		outstanding := run.outstandingByPeer()
		if len(outstanding) == 0 {
			t.Fatalf("stalled: %d blocks wait, none outstanding", len(run.todo))
		}
		for _, cids := range outstanding {
			for _, c := range cids {
				run.arrived(c)
			}
		}
	}
	if run.done != len(blocks) {
		t.Fatalf("done %d of %d", run.done, len(blocks))
	}
}

func TestSteerRunExpiresDisconnectedPeers(t *testing.T) {
	run := newSteerRun([]peer.ID{"a", "b"}, testCids(t, 4))
	sent := run.assign()
	cancels := run.expire(func(ps []peer.ID) []peer.ID { return []peer.ID{"b"} }) // a went away
	if len(cancels["a"]) != len(sent["a"]) || len(run.peers) != 1 || run.peers[0] != "b" {
		t.Fatalf("cancels %v, peers %v", cancels, run.peers)
	}
	if !run.stuck() && len(run.assign()["b"]) == 0 {
		t.Fatal("a's wants were not moved to b")
	}
	run.expire(func([]peer.ID) []peer.ID { return nil })
	if !run.stuck() {
		t.Fatal("no peer left, but the run is not stuck")
	}
}

// A fetch that needs a block another fetch has asked for does not ask again: it waits until
// that fetch has stored it (or given up on it), and a fetch that gives up does not wait for
// the others before letting its own wants go (two fetches waiting on each other).
func TestAFetchWaitsForABlockAnotherFetchWants(t *testing.T) {
	s := &steerer{wants: map[cid.Cid]chan<- answer{}, landed: map[cid.Cid]chan struct{}{},
		probes: map[cid.Cid]chan<- answer{}, senders: map[peer.ID]*sender{}, holders: map[cid.Cid]holders{}}
	shared := testCids(t, 2)
	first := make(chan answer, 1)
	s.wants[shared[0]] = first
	s.landed[shared[0]] = make(chan struct{})

	done := make(chan error, 1)
	go func() {
		// No peers: its own want (shared[1]) is given up at once; shared[0] is the first fetch's.
		done <- s.fetch(context.Background(), cid.Undef, nil, nil, shared, 0, func(blocks.Block) error { return nil })
	}()
	select {
	case err := <-done:
		t.Fatalf("the fetch returned (%v) while the block another fetch wants had not landed", err)
	case <-time.After(200 * time.Millisecond):
	}
	s.mu.Lock()
	_, stillWanted := s.wants[shared[1]]
	s.mu.Unlock()
	if stillWanted {
		t.Fatal("a fetch that gave up on a block kept its want while waiting for another fetch")
	}
	s.release([]cid.Cid{shared[0]}, first)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the fetch still waits after the block landed")
	}
	if len(s.wants) != 0 || len(s.landed) != 0 {
		t.Fatalf("wants left behind: %v %v", s.wants, s.landed)
	}
}

func TestSwarmRunPrefersSharersAndSplitsTheHoldersBlocks(t *testing.T) {
	holder, self := peer.ID("seed"), peer.ID("me")
	sharers := []peer.ID{"w1", "w2", "w3"}
	cids := testCids(t, 40)
	run := newSteerRun([]peer.ID{holder}, cids)
	run.self, run.alone = self, 12
	for _, p := range sharers {
		run.share(p, false)
	}

	// Nobody heard from yet: the holder gets as many wants as a bitswap session would keep.
	first := run.assign()
	if len(first[holder]) != 12 || len(first) != 1 {
		t.Fatalf("first wants: %v, want 12 to the holder alone", first)
	}
	// w1 has a block outstanding at the holder: it is taken back to go to w1.
	run.had("w1", first[holder][1], 1) // its first answer: what it held already
	if cancelAt := run.had("w1", first[holder][0], 2); cancelAt != holder {
		t.Fatalf("a HAVE for a block outstanding at the holder: cancel at %q, want the holder", cancelAt)
	}
	if next := run.assign(); len(next["w1"]) != 2 {
		t.Fatalf("after w1's HAVE: %v, want that block sent to w1", next)
	}
	// A peer that is no sharer is not believed.
	if run.had("stranger", cids[30], 3) != "" || len(run.has[cids[30]]) != 0 {
		t.Fatal("a HAVE from a peer that is no sharer was counted")
	}

	// With w1, w2 and w3 heard from, the holder's wants shrink to two, and it is asked only for
	// this node's share of the blocks while the others keep saying they have blocks.
	run.had("w2", cids[39], 4)
	run.had("w3", cids[38], 5)
	run.had("w2", cids[37], 6) // later messages: they are fetching
	run.had("w3", cids[36], 7)
	if got := run.holderLimit(); got != 2 {
		t.Fatalf("holder limit with three active sharers: %d, want 2", got)
	}
	drain := func() map[peer.ID]int { // what the holder is asked for next, by member
		for c := range run.out {
			run.arrived(c)
		}
		asked := map[peer.ID]int{}
		for _, c := range run.assign()[holder] {
			asked[run.owner(c)]++
		}
		return asked
	}
	// Heard from "now", dated an hour ahead so that a test held up for foreignWait by a busy
	// machine does not see them fall silent.
	heardNow := time.Now().Add(time.Hour)
	for _, p := range sharers {
		run.heard[p] = heardNow
	}
	if asked := drain(); asked[self] == 0 || len(asked) != 1 {
		t.Fatalf("the holder was asked for %v, want this node's share only", asked)
	}
	// Long after the fetch started, members still heard from keep their shares; a member silent
	// for foreignWait (it left, or reads another file) loses its share to the holder.
	run.started = time.Now().Add(-2 * foreignWait)
	run.heard["w3"] = time.Now().Add(-2 * foreignWait)
	quietOnly := func(asked map[peer.ID]int) bool { return asked["w1"] == 0 && asked["w2"] == 0 }
	sawW3 := false
	for i := 0; i < 10 && len(run.todo) > 0; i++ {
		asked := drain()
		if !quietOnly(asked) {
			t.Fatalf("the holder was asked for %v: the shares of w1 and w2, who are heard from", asked)
		}
		sawW3 = sawW3 || asked["w3"] > 0
	}
	if !sawW3 {
		t.Fatal("the share of w3, silent for foreignWait, never went to the holder")
	}
}

// A want is taken back from the holder only when a sharer that has the block can take it:
// otherwise it would go straight back to the holder, where the cancel, sent after that new want
// from a goroutine, could end it.
func TestAWantStaysAtTheHolderWhileTheSharerIsFull(t *testing.T) {
	holder := peer.ID("seed")
	cids := testCids(t, 20)
	run := newSteerRun([]peer.ID{holder}, cids)
	run.self, run.alone = "me", 12
	run.share("w1", false)
	atHolder := run.assign()[holder]
	for _, c := range cids[12 : 12+steerPerPeer] { // w1 comes to hold four blocks and is asked for them
		run.had("w1", c, 1)
	}
	if got := run.assign()["w1"]; len(got) != steerPerPeer {
		t.Fatalf("w1 was asked for %v, want %d blocks", got, steerPerPeer)
	}
	if cancelAt := run.had("w1", atHolder[0], 2); cancelAt != "" {
		t.Fatalf("w1, full, said it has a block outstanding at the holder: cancel at %q, want none", cancelAt)
	}
	if s, ok := run.out[atHolder[0]]; !ok || s.to != holder {
		t.Fatalf("the block's want is at %v, want it left at the holder", s)
	}
	run.arrived(cids[12]) // w1 has room again: the next block it has is taken back
	if cancelAt := run.had("w1", atHolder[1], 3); cancelAt != holder {
		t.Fatalf("a HAVE from w1 with room: cancel at %q, want the holder", cancelAt)
	}
	if next := run.assign(); len(next["w1"]) != 1 || next["w1"][0] != atHolder[1] || len(next[holder]) != 0 {
		t.Fatalf("after w1's HAVE: %v, want that block sent to w1 and none to the holder", next)
	}
}

// A peer that holds part of the file from an earlier read answers the want-haves once, with
// the blocks it has: it serves them, but becomes no member, so no share of the blocks waits
// for it at the holder. A peer that says in a later message that it came to hold a block is
// fetching and becomes one.
func TestASharerThatOnlyHoldsBlocksIsNoMember(t *testing.T) {
	holder, self := peer.ID("seed"), peer.ID("me")
	cids := testCids(t, 40)
	run := newSteerRun([]peer.ID{holder}, cids)
	run.self, run.alone = self, 12
	run.share("idle", false)
	run.share("worker", false)
	for _, c := range cids[20:30] {
		run.had("idle", c, 1) // its one answer
	}
	run.had("worker", cids[30], 2)
	if len(run.members) != 0 {
		t.Fatalf("members %v after first answers, want none", run.members)
	}
	first := run.assign()
	if len(first["idle"]) != steerPerPeer {
		t.Fatalf("wants %v: the idle peer should be asked for blocks it has", first)
	}
	for _, c := range first[holder] {
		if run.owner(c) != self {
			t.Fatalf("block %s owned by %s, want this node (no split)", c, run.owner(c))
		}
	}
	run.had("worker", cids[31], 3)
	if !slices.Contains(run.members, peer.ID("worker")) || slices.Contains(run.members, peer.ID("idle")) {
		t.Fatalf("members %v, want this node and the worker", run.members)
	}
}
