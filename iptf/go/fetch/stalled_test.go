package fetch

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/boxo/bitswap"
	bsmsg "github.com/ipfs/boxo/bitswap/message"
	pb "github.com/ipfs/boxo/bitswap/message/pb"
	bsnetwork "github.com/ipfs/boxo/bitswap/network"
	"github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/exchange/offline"
	dag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs/importer"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/ipfs/kubo/config"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/core/coreiface/options"
	coremock "github.com/ipfs/kubo/core/mock"
	"github.com/ipfs/kubo/repo"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"go.uber.org/fx"

	"iptf.io/node/peerguard"
)

// TestABlockItsHolderLeavesUnansweredIsAskedForAgain: the file's one holder answers the
// first want-block for one of its blocks with a HAVE and never sends it. Bitswap's session
// counts that as answered and never repeats the want; the fetch asks again and completes.
func TestABlockItsHolderLeavesUnansweredIsAskedForAgain(t *testing.T) {
	mn := mocknet.New()
	t.Cleanup(func() { _ = mn.Close() })
	node, guard := onlineTestNode(t, mn)
	root, stored := testFile(t, 32)
	lost := root.Links()[5].Cid
	holder := newForgetfulHolder(t, mn, stored, lost)
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := mn.ConnectPeers(node.Identity, holder.host.ID()); err != nil {
		t.Fatal(err)
	}

	f := New(node, guard)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := f.Ensure(ctx, root, 0, uint64(32*1024)); err != nil {
		t.Fatalf("fetch: %v (want-blocks for the lost block: %d)", err, holder.wantBlocks(lost))
	}
	for _, l := range root.Links() {
		if has, err := node.Blockstore.Has(ctx, l.Cid); err != nil || !has {
			t.Fatalf("%s not local after the fetch (%v)", l.Cid, err)
		}
	}
	if n := holder.wantBlocks(lost); n < 2 {
		t.Fatalf("the holder was asked for the lost block %d times, want at least 2", n)
	}
}

// testFile is a UnixFS file of kib 1 KiB blocks below one root, and its blocks by CID.
func testFile(t *testing.T, kib int) (*dag.ProtoNode, map[cid.Cid]blocks.Block) {
	t.Helper()
	data := make([]byte, kib*1024)
	_, _ = rand.Read(data)
	bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	dserv := dag.NewDAGService(blockservice.New(bs, offline.Exchange(bs)))
	nd, err := importer.BuildDagFromReader(dserv, chunker.NewSizeSplitter(bytes.NewReader(data), 1024))
	if err != nil {
		t.Fatal(err)
	}
	root := nd.(*dag.ProtoNode)
	stored := map[cid.Cid]blocks.Block{}
	for _, l := range root.Links() {
		b, err := bs.Get(context.Background(), l.Cid)
		if err != nil {
			t.Fatal(err)
		}
		stored[l.Cid] = b
	}
	return root, stored
}

// forgetfulHolder is a bitswap peer that holds a file's blocks and answers every want as bitswap
// does, except the first want-block for lost: that one gets a HAVE and no block.
type forgetfulHolder struct {
	host   host.Host
	net    bsnetwork.BitSwapNetwork
	blocks map[cid.Cid]blocks.Block
	lost   cid.Cid
	// blockForHave: a want-have gets the block itself, as bitswap answers one for a block of
	// at most 1 KiB.
	blockForHave bool

	mu   sync.Mutex
	asks map[cid.Cid]int // want-blocks received per block
}

func newForgetfulHolder(t *testing.T, mn mocknet.Mocknet, stored map[cid.Cid]blocks.Block, lost cid.Cid) *forgetfulHolder {
	t.Helper()
	h, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	fh := &forgetfulHolder{host: h, net: bsnet.NewFromIpfsHost(h), blocks: stored, lost: lost, asks: map[cid.Cid]int{}}
	fh.net.Start(fh)
	t.Cleanup(fh.net.Stop)
	return fh
}

func (fh *forgetfulHolder) wantBlocks(c cid.Cid) int {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	return fh.asks[c]
}

func (fh *forgetfulHolder) ReceiveMessage(ctx context.Context, from peer.ID, msg bsmsg.BitSwapMessage) {
	reply := bsmsg.New(false)
	fh.mu.Lock()
	for _, e := range msg.Wantlist() {
		b, ok := fh.blocks[e.Cid]
		switch {
		case e.Cancel:
		case !ok:
			reply.AddDontHave(e.Cid)
		case e.WantType == pb.Message_Wantlist_Have && fh.blockForHave:
			reply.AddBlock(b)
		case e.WantType == pb.Message_Wantlist_Have:
			reply.AddHave(e.Cid)
		default:
			fh.asks[e.Cid]++
			if e.Cid == fh.lost && fh.asks[e.Cid] == 1 {
				reply.AddHave(e.Cid)
			} else {
				reply.AddBlock(b)
			}
		}
	}
	fh.mu.Unlock()
	if !reply.Empty() {
		go func() { _ = fh.net.SendMessage(context.Background(), from, reply) }()
	}
}
func (*forgetfulHolder) ReceiveError(error)       {}
func (*forgetfulHolder) PeerConnected(peer.ID)    {}
func (*forgetfulHolder) PeerDisconnected(peer.ID) {}

// onlineTestNode is an online node on mn with IPTF's bitswap settings and a peer guard as its
// bitswap tracer (as a daemon has); it has no routing and dials nobody by itself.
func onlineTestNode(t *testing.T, mn mocknet.Mocknet) (*core.IpfsNode, *peerguard.Guard) {
	t.Helper()
	registerTestOptions.Do(func() {
		core.RegisterFXOptionFunc((&Plugin{}).Options)
		core.RegisterFXOptionFunc(func(info core.FXNodeInfo) ([]fx.Option, error) {
			guard := nextGuard
			withTracer := fx.Annotate(
				func() []bitswap.Option { return []bitswap.Option{bitswap.WithTracer(guard)} },
				fx.ResultTags(`group:"bitswap-options,flatten"`),
			)
			return append(info.FXOptions, fx.Provide(withTracer)), nil
		})
	})
	identity, err := config.CreateIdentity(io.Discard, []options.KeyGenerateOption{options.Key.Type(options.Ed25519Key)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{Identity: identity}
	cfg.Routing.Type = config.NewOptionalString("none")
	cfg.AutoConf.Enabled = config.False
	cfg.Discovery.MDNS.Enabled = false
	cfg.AutoTLS.Enabled = config.False
	cfg.Addresses.Swarm = []string{"/ip4/127.0.0.1/tcp/4001"} // an address on mn, never a socket
	nextGuard = peerguard.New()
	guard := nextGuard
	n, err := core.NewNode(context.Background(), &core.BuildCfg{
		Online: true,
		Host:   coremock.MockHostOption(mn),
		Repo:   &repo.Mock{C: cfg, D: dssync.MutexWrap(datastore.NewMapDatastore())},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n, guard
}

var (
	registerTestOptions sync.Once
	nextGuard           *peerguard.Guard // the guard the next node built gets
)
