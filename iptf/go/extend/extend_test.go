package extend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"testing"

	chunk "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/merkledag"
	mdtest "github.com/ipfs/boxo/ipld/merkledag/test"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	"github.com/ipfs/boxo/ipld/unixfs/importer/trickle"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"
)

// Small chunks and few links make deep trees out of a few kilobytes.
var settings = map[string]Params{
	"cidv0":        {ChunkSize: 64, MaxLinks: 3, Prefix: mustPrefix(0, mh.SHA2_256)},
	"cidv1-raw":    {ChunkSize: 64, MaxLinks: 3, RawLeaves: true, Prefix: mustPrefix(1, mh.SHA2_256)},
	"cidv1-blake3": {ChunkSize: 100, MaxLinks: 4, RawLeaves: true, Prefix: mustPrefix(1, mh.BLAKE3)},
	"cidv1-pb":     {ChunkSize: 50, MaxLinks: 2, Prefix: mustPrefix(1, mh.SHA2_256)},
}

func mustPrefix(version uint64, hash uint64) cid.Prefix {
	p, err := merkledag.PrefixForCidVersion(int(version))
	if err != nil {
		panic(err)
	}
	p.MhType, p.MhLength = hash, -1
	return p
}

// importAll is what `ipfs add` builds for data with these settings (boxo's own importer).
func importAll(t *testing.T, dag ipld.DAGService, p Params, data []byte) ipld.Node {
	t.Helper()
	db, err := (&helpers.DagBuilderParams{Dagserv: dag, RawLeaves: p.RawLeaves, Maxlinks: p.MaxLinks, CidBuilder: p.Prefix}).
		New(chunk.NewSizeSplitter(bytes.NewReader(data), p.ChunkSize))
	if err != nil {
		t.Fatal(err)
	}
	nd, err := balanced.Layout(db)
	if err != nil {
		t.Fatal(err)
	}
	return nd
}

func readAll(t *testing.T, dag ipld.DAGService, nd ipld.Node) []byte {
	t.Helper()
	r, err := uio.NewDagReader(context.Background(), nd, dag)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Import of a whole content, at sizes around chunk and tree boundaries, gives the importer's
// CID, reads back, and is then extended reading only its right edge.
func TestImportGivesTheImportersCID(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(3))
	for name, p := range settings {
		t.Run(name, func(t *testing.T) {
			c, l := int(p.ChunkSize), p.MaxLinks
			for _, size := range []int{0, 1, c - 1, c, c + 1, l * c, l*c + 1, l * l * c, l*l*l*c + 3} {
				data := make([]byte, size)
				rng.Read(data)
				want := importAll(t, mdtest.Mock(), p, data)
				dag := mdtest.Mock()
				e := NewExtender()
				got, err := e.Import(ctx, dag, p, bytes.NewReader(data))
				if err != nil {
					t.Fatalf("%d bytes: %v", size, err)
				}
				if !got.Cid().Equals(want.Cid()) {
					t.Fatalf("%d bytes: %s, the importer gives %s", size, got.Cid(), want.Cid())
				}
				if back := readAll(t, dag, got); !bytes.Equal(back, data) {
					t.Fatalf("%d bytes: reads back %d bytes that differ", size, len(back))
				}
				if !e.knows(p, got.Cid()) {
					t.Fatalf("%d bytes: the Extender does not know the root it built", size)
				}
			}
		})
	}
}

// Every split of content into a base and appended bytes, at sizes around chunk and tree
// boundaries, gives the CID the importer gives for the whole content, and reads back.
func TestExtendGivesTheImportersCID(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(1))
	for name, p := range settings {
		t.Run(name, func(t *testing.T) {
			c := int(p.ChunkSize)
			l := p.MaxLinks
			sizes := []int{0, 1, c - 1, c, c + 1, 2 * c, l * c, l*c + 1, l * l * c, l*l*c + c/2, l*l*l*c + 3}
			for _, baseSize := range sizes {
				for _, moreSize := range sizes {
					dag := mdtest.Mock()
					data := make([]byte, baseSize+moreSize)
					rng.Read(data)
					base := importAll(t, dag, p, data[:baseSize])
					want := importAll(t, mdtest.Mock(), p, data)
					got, err := Extend(ctx, dag, p, base.Cid(), bytes.NewReader(data[baseSize:]))
					if err != nil {
						t.Fatalf("base %d + %d: %v", baseSize, moreSize, err)
					}
					if !got.Cid().Equals(want.Cid()) {
						t.Fatalf("base %d + %d: %s, the importer gives %s", baseSize, moreSize, got.Cid(), want.Cid())
					}
					if back := readAll(t, dag, got); !bytes.Equal(back, data) {
						t.Fatalf("base %d + %d: reads back %d bytes that differ", baseSize, moreSize, len(back))
					}
				}
			}
		})
	}
}

// Extending reads the base's inner nodes, its first leaf and its partial last leaf, never its
// other leaves: the cost of an append does not grow with the file.
func TestExtendLeavesFullLeavesUnread(t *testing.T) {
	ctx := context.Background()
	p := settings["cidv0"]
	store := mdtest.Mock()
	data := make([]byte, 40*int(p.ChunkSize)+7)
	rand.New(rand.NewSource(2)).Read(data)
	base := importAll(t, store, p, data)
	counting := &countingDAG{DAGService: store, got: map[cid.Cid]int{}}
	if _, err := Extend(ctx, counting, p, base.Cid(), bytes.NewReader([]byte("more"))); err != nil {
		t.Fatal(err)
	}
	leavesRead := 0
	for c := range counting.got {
		nd, err := store.Get(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(nd.Links()) == 0 {
			leavesRead++
		}
	}
	if leavesRead > 2 {
		t.Fatalf("read %d leaves of a 41-leaf file (at most the first and the last)", leavesRead)
	}
}

type countingDAG struct {
	ipld.DAGService
	got map[cid.Cid]int
}

func (d *countingDAG) Get(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	d.got[c]++
	return d.DAGService.Get(ctx, c)
}

// A file built with other settings (another layout, chunk size or CID kind) is refused, so the
// caller imports the whole content instead and the CID stays the importer's.
func TestOtherDAGsAreNotExtensible(t *testing.T) {
	ctx := context.Background()
	p := settings["cidv0"]
	data := make([]byte, 20*int(p.ChunkSize)+5)
	rand.New(rand.NewSource(3)).Read(data)
	others := map[string]func(dag ipld.DAGService) ipld.Node{
		"trickle": func(dag ipld.DAGService) ipld.Node {
			db, err := (&helpers.DagBuilderParams{Dagserv: dag, Maxlinks: p.MaxLinks, CidBuilder: p.Prefix}).
				New(chunk.NewSizeSplitter(bytes.NewReader(data), p.ChunkSize))
			if err != nil {
				t.Fatal(err)
			}
			nd, err := trickle.Layout(db)
			if err != nil {
				t.Fatal(err)
			}
			return nd
		},
		"other chunk size": func(dag ipld.DAGService) ipld.Node {
			q := p
			q.ChunkSize = 32
			return importAll(t, dag, q, data)
		},
		"raw leaves": func(dag ipld.DAGService) ipld.Node {
			return importAll(t, dag, settings["cidv1-raw"], data)
		},
		"more links": func(dag ipld.DAGService) ipld.Node {
			q := p
			q.MaxLinks = 5
			return importAll(t, dag, q, data)
		},
	}
	for name, build := range others {
		dag := mdtest.Mock()
		base := build(dag)
		if _, err := Extend(ctx, dag, p, base.Cid(), bytes.NewReader([]byte("x"))); !errors.Is(err, ErrNotExtensible) {
			t.Errorf("%s: %v, want ErrNotExtensible", name, err)
		}
	}
}

// An Extender appending again and again to the file it built gives the importer's CID at every
// step (across tree-depth boundaries) and reads at most two nodes per level of the tree: the
// right edge and the partial leaf, however many leaves the file has.
func TestExtenderReadsOnlyTheRightEdgeOfWhatItBuilt(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(4))
	for name, p := range settings {
		t.Run(name, func(t *testing.T) {
			store := mdtest.Mock()
			e := NewExtender()
			var data []byte
			root := importAll(t, store, p, nil).Cid()
			steps := []int{1, int(p.ChunkSize) - 1, 3 * int(p.ChunkSize), 7}
			for i := 0; i < 60; i++ {
				more := make([]byte, steps[i%len(steps)])
				rng.Read(more)
				data = append(data, more...)
				counting := &countingDAG{DAGService: store, got: map[cid.Cid]int{}}
				nd, err := e.Extend(ctx, counting, p, root, bytes.NewReader(more))
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if want := importAll(t, mdtest.Mock(), p, data); !nd.Cid().Equals(want.Cid()) {
					t.Fatalf("step %d (%d bytes): %s, the importer gives %s", i, len(data), nd.Cid(), want.Cid())
				}
				depth := 1
				for span := p.MaxLinks; span*int(p.ChunkSize) < len(data); span *= p.MaxLinks {
					depth++
				}
				if i > 0 && len(counting.got) > 2*depth+2 {
					t.Fatalf("step %d: read %d nodes of a tree %d deep", i, len(counting.got), depth)
				}
				root = nd.Cid()
			}
			if back := readAll(t, store, mustGet(t, store, root)); !bytes.Equal(back, data) {
				t.Fatalf("reads back %d bytes that differ from the %d appended", len(back), len(data))
			}
		})
	}
}

// A root the Extender did not build is checked in full: one built with other settings is refused
// even when its right edge would pass.
func TestExtenderChecksRootsItDidNotBuild(t *testing.T) {
	ctx := context.Background()
	p := settings["cidv0"]
	q := p
	q.MaxLinks = 5
	dag := mdtest.Mock()
	data := make([]byte, 30*int(p.ChunkSize))
	rand.New(rand.NewSource(5)).Read(data)
	other := importAll(t, dag, q, data)
	if _, err := NewExtender().Extend(ctx, dag, p, other.Cid(), bytes.NewReader([]byte("x"))); !errors.Is(err, ErrNotExtensible) {
		t.Fatalf("%v, want ErrNotExtensible", err)
	}
}

func mustGet(t *testing.T, dag ipld.DAGService, c cid.Cid) ipld.Node {
	t.Helper()
	nd, err := dag.Get(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return nd
}

// cancelAfter is a DAG that ends the import's context at its nth add (a node stopping mid-import).
type cancelAfter struct {
	ipld.DAGService
	n      int
	cancel context.CancelFunc
}

func (d *cancelAfter) Add(ctx context.Context, nd ipld.Node) error {
	if d.n--; d.n == 0 {
		d.cancel()
	}
	return d.DAGService.Add(ctx, nd)
}

// An import whose context ends stops at the next leaf and says why, rather than storing the
// rest of the file.
func TestImportStopsWhenItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dag := &cancelAfter{DAGService: mdtest.Mock(), n: 3, cancel: cancel}
	_, err := (&Extender{}).Import(ctx, dag, settings["cidv1-raw"], bytes.NewReader(make([]byte, 64*100)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("import after its context ended: %v, want context.Canceled", err)
	}
	if dag.n != 0 {
		t.Fatalf("%d leaves stored after the context ended", -dag.n)
	}
}
