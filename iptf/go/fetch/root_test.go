package fetch

import (
	"context"
	"testing"
	"time"

	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// TestRootComesFromTheFirstPeerThatHasIt: Root asks every connected peer whether it has a
// path's root block and takes it from the one that has it, whether that peer answers with a
// HAVE (Root then asks it for the block) or, as bitswap does for a small block, with the block.
// A block no peer has is left alone, and so is a path with no fixed root (an /ipns/ name).
func TestRootComesFromTheFirstPeerThatHasIt(t *testing.T) {
	for _, tc := range []struct {
		name          string
		blockForHave  bool
		wantBlockAsks int
	}{
		{"a HAVE, then a want-block", false, 1},
		{"the block in place of a HAVE", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mn := mocknet.New()
			t.Cleanup(func() { _ = mn.Close() })
			node, guard := onlineTestNode(t, mn)
			root, stored := testFile(t, 4)
			stored[root.Cid()] = root
			holder := newForgetfulHolder(t, mn, stored, cid.Undef)
			holder.blockForHave = tc.blockForHave
			stranger := newForgetfulHolder(t, mn, nil, cid.Undef) // has nothing
			if err := mn.LinkAll(); err != nil {
				t.Fatal(err)
			}
			for _, p := range []*forgetfulHolder{stranger, holder} {
				if _, err := mn.ConnectPeers(node.Identity, p.host.ID()); err != nil {
					t.Fatal(err)
				}
			}

			f := New(node, guard)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			f.Root(ctx, path.FromCid(root.Cid()))
			if has, err := node.Blockstore.Has(ctx, root.Cid()); err != nil || !has {
				t.Fatalf("the root is not local after Root (%v)", err)
			}
			if n := holder.wantBlocks(root.Cid()); n != tc.wantBlockAsks {
				t.Fatalf("the holder got %d want-blocks for the root, want %d", n, tc.wantBlockAsks)
			}
			if dropped := guard.Dropped(); len(dropped) != 0 {
				t.Fatalf("the guard dropped %v", dropped)
			}

			unknown := testCids(t, 1)[0]
			f.Root(ctx, path.FromCid(unknown))
			if has, err := node.Blockstore.Has(ctx, unknown); err != nil || has {
				t.Fatalf("a block nobody has is local (%v)", err)
			}
			name, err := path.NewPath("/ipns/" + holder.host.ID().String())
			if err != nil {
				t.Fatal(err)
			}
			f.Root(ctx, name)
			if ctx.Err() != nil {
				t.Fatal("Root did not return in time")
			}
		})
	}
}
