// Command hostile is a misbehaving bitswap peer for IPTF's tests: it connects to a node and
// floods it with wants, sends a message beyond bitswap's size limit, or sends blocks nobody
// asked for. It prints its peer ID first, then one line per phase with what it sent.
//
//	hostile -target /ip4/10.0.0.1/tcp/4001/p2p/12D3… -listen /ip4/10.0.0.3/tcp/0 \
//	        -mode wants|oversized|unwanted [-seconds 20]
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"time"

	bsmsg "github.com/ipfs/boxo/bitswap/message"
	pb "github.com/ipfs/boxo/bitswap/message/pb"
	"github.com/ipfs/boxo/bitswap/network/bsnet"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

func main() {
	target := flag.String("target", "", "the node to attack: a multiaddr ending in /p2p/<id>")
	listen := flag.String("listen", "/ip4/127.0.0.1/tcp/0", "this peer's listen address")
	mode := flag.String("mode", "wants", "wants (a flood of wants for absent CIDs), oversized (a message "+
		"beyond the size limit) or unwanted (blocks nobody asked for)")
	seconds := flag.Float64("seconds", 20, "how long the flood of wants lasts")
	flag.Parse()
	if err := run(*target, *listen, *mode, time.Duration(*seconds*float64(time.Second))); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

func run(target, listen, mode string, flood time.Duration) error {
	ai, err := peer.AddrInfoFromString(target)
	if err != nil {
		return err
	}
	// No resource limits of its own: the limits under test are the victim's.
	h, err := libp2p.New(libp2p.ListenAddrStrings(listen), libp2p.ResourceManager(&network.NullResourceManager{}))
	if err != nil {
		return err
	}
	defer h.Close()
	fmt.Println(h.ID())
	ctx := context.Background()
	if err := h.Connect(ctx, *ai); err != nil {
		return err
	}
	s, err := h.NewStream(ctx, ai.ID, bsnet.ProtocolBitswap)
	if err != nil {
		return err
	}
	defer s.Close()
	switch mode {
	case "wants":
		return floodWants(s, flood)
	case "oversized":
		msg := bsmsg.New(false)
		msg.AddBlock(randomBlock(8 << 20)) // twice bitswap's 4 MiB message limit
		err := msg.ToNetV1(s)
		fmt.Printf("sent one message of %d MiB: %v\n", 8, err)
		return nil
	case "unwanted":
		msg := bsmsg.New(false)
		for i := 0; i < 16; i++ {
			msg.AddBlock(randomBlock(64 << 10))
		}
		if err := msg.ToNetV1(s); err != nil {
			return err
		}
		fmt.Println("sent 16 unwanted blocks")
		time.Sleep(2 * time.Second) // let the node read them before the stream closes
		return nil
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// floodWants sends messages of 1,000 wants for CIDs that exist nowhere, as fast as the stream
// takes them, for the given time (or until the node cuts the stream).
func floodWants(s network.Stream, flood time.Duration) error {
	deadline := time.Now().Add(flood)
	sent := 0
	for time.Now().Before(deadline) {
		msg := bsmsg.New(false)
		for i := 0; i < 1000; i++ {
			kind := pb.Message_Wantlist_Block
			if i%2 == 1 {
				kind = pb.Message_Wantlist_Have
			}
			msg.AddEntry(randomBlock(32).Cid(), int32(i), kind, true)
		}
		if err := msg.ToNetV1(s); err != nil {
			fmt.Printf("sent %d wants; then the node cut the stream: %v\n", sent, err)
			return nil
		}
		sent += 1000
	}
	fmt.Printf("sent %d wants\n", sent)
	return nil
}

func randomBlock(size int) blocks.Block {
	data := make([]byte, size)
	_, _ = rand.Read(data)
	c, _ := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}.Sum(data)
	b, _ := blocks.NewBlockWithCid(data, c)
	return b
}
