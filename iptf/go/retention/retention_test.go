package retention

import (
	"context"
	"fmt"
	"testing"

	mdtest "github.com/ipfs/boxo/ipld/merkledag/test"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"
)

// The tree links every CID exactly once, however many there are, with small nodes.
func TestStoreLinksEveryCid(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 1, linksPerNode, linksPerNode*3 + 7} {
		dags := mdtest.Mock()
		want := map[cid.Cid]bool{}
		var links []*ipld.Link
		for i := range n {
			sum, _ := mh.Sum([]byte(fmt.Sprint(i)), mh.SHA2_256, -1)
			c := cid.NewCidV1(cid.Raw, sum)
			want[c] = true
			links = append(links, &ipld.Link{Name: c.String(), Cid: c, Size: 1})
		}
		top, err := store(ctx, dags, links)
		if err != nil {
			t.Fatal(err)
		}
		got := map[cid.Cid]bool{}
		var walk func(nd ipld.Node)
		walk = func(nd ipld.Node) {
			if len(nd.Links()) > linksPerNode {
				t.Fatalf("a node of %d links", len(nd.Links()))
			}
			for _, l := range nd.Links() {
				if want[l.Cid] {
					got[l.Cid] = true
					continue
				}
				child, err := dags.Get(ctx, l.Cid)
				if err != nil {
					t.Fatalf("tree node %s not stored: %v", l.Cid, err)
				}
				walk(child)
			}
		}
		walk(top)
		if len(got) != n {
			t.Fatalf("%d CIDs: the tree links %d", n, len(got))
		}
	}
}

// BenchmarkStore100k: the tree for a reflog naming 100 000 distinct CIDs.
func BenchmarkStore100k(b *testing.B) {
	ctx := context.Background()
	links := make([]*ipld.Link, 100_000)
	for i := range links {
		sum, _ := mh.Sum([]byte(fmt.Sprint(i)), mh.SHA2_256, -1)
		c := cid.NewCidV1(cid.Raw, sum)
		links[i] = &ipld.Link{Name: c.String(), Cid: c, Size: 1}
	}
	for b.Loop() {
		if _, err := store(ctx, mdtest.Mock(), links); err != nil {
			b.Fatal(err)
		}
	}
}
