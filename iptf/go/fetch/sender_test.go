package fetch

import (
	"context"
	"sync"
	"testing"
	"time"

	bsmsg "github.com/ipfs/boxo/bitswap/message"
	pb "github.com/ipfs/boxo/bitswap/message/pb"
	"github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// entry is one wantlist entry as a peer received it.
type entry struct {
	c      cid.Cid
	cancel bool
}

// recorder is a peer's bitswap receiver that keeps every wantlist entry in arrival order.
type recorder struct {
	mu      sync.Mutex
	entries []entry
}

func (e entry) String() string {
	if e.cancel {
		return "cancel " + e.c.String()
	}
	return "want " + e.c.String()
}

func (r *recorder) ReceiveMessage(_ context.Context, _ peer.ID, msg bsmsg.BitSwapMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range msg.Wantlist() {
		r.entries = append(r.entries, entry{c: e.Cid, cancel: e.Cancel})
	}
}
func (*recorder) ReceiveError(error)       {}
func (*recorder) PeerConnected(peer.ID)    {}
func (*recorder) PeerDisconnected(peer.ID) {}

func (r *recorder) received() []entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]entry(nil), r.entries...)
}

func loopbackHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// A peer receives a fetch's cancels and wants in the order the fetch decided them, though
// cancels are handed over without waiting: a cancel decided before a new want of the same
// block must not end that want (as it did when cancels left from goroutines of their own).
func TestCancelsAndWantsReachAPeerInTheOrderTheyWereDecided(t *testing.T) {
	local, remote := loopbackHost(t), loopbackHost(t)
	rec := &recorder{}
	remoteNet := bsnet.NewFromIpfsHost(remote)
	remoteNet.Start(rec)
	t.Cleanup(remoteNet.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := local.Connect(ctx, peer.AddrInfo{ID: remote.ID(), Addrs: remote.Addrs()}); err != nil {
		t.Fatal(err)
	}
	s := newSteerer(local)

	blocks := testCids(t, 200)
	for _, c := range blocks {
		s.cancel(remote.ID(), []cid.Cid{c}) // taken back from this peer...
		if err := s.send(ctx, remote.ID(), []cid.Cid{c}, pb.Message_Wantlist_Block); err != nil {
			t.Fatal(err) // ...and given to it again
		}
	}
	var got []entry
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got = rec.received(); len(got) >= 2*len(blocks) || time.Now().After(deadline) {
			break
		}
	}
	if len(got) != 2*len(blocks) {
		t.Fatalf("the peer received %d entries, want %d", len(got), 2*len(blocks))
	}
	for i, c := range blocks {
		if got[2*i] != (entry{c: c, cancel: true}) || got[2*i+1] != (entry{c: c}) {
			t.Fatalf("block %d: the peer received %s, then %s; want its cancel, then its want", i, got[2*i], got[2*i+1])
		}
	}
}
