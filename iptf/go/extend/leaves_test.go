package extend

import (
	"bytes"
	"context"
	"io"
	"math/rand"
	"testing"

	chunk "github.com/ipfs/boxo/chunker"
	mdtest "github.com/ipfs/boxo/ipld/merkledag/test"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"
)

// Every leaf the leaf maker encodes is, byte for byte, the importer's leaf of the same chunk,
// at the sizes where the fields' length prefixes grow a byte (here the varints are 1 to 3 bytes
// long, as in files of kubo's 256 KiB chunks).
func TestLeavesAreTheImportersLeaves(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, p := range []Params{
		{ChunkSize: 1 << 20, MaxLinks: 174, Prefix: mustPrefix(0, mh.SHA2_256)},
		{ChunkSize: 1 << 20, MaxLinks: 174, RawLeaves: true, Prefix: mustPrefix(1, mh.SHA2_256)},
	} {
		for _, size := range []int{1, 2, 100, 115, 116, 127, 128, 16371, 16372, 16383, 16384, 262144, 1 << 20} {
			data := make([]byte, size)
			rng.Read(data)
			m := leafMaker{p: p, r: bytes.NewReader(data)}
			got, n, err := m.next()
			if err != nil || n != uint64(size) {
				t.Fatalf("raw %v, %d bytes: leaf of %d bytes, %v", p.RawLeaves, size, n, err)
			}
			if _, _, err := m.next(); err != io.EOF {
				t.Fatalf("raw %v, %d bytes: after the only chunk: %v", p.RawLeaves, size, err)
			}
			db, err := (&helpers.DagBuilderParams{Dagserv: mdtest.Mock(), RawLeaves: p.RawLeaves, Maxlinks: p.MaxLinks, CidBuilder: p.Prefix}).
				New(chunk.NewSizeSplitter(bytes.NewReader(data), p.ChunkSize))
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := db.NewLeafDataNode(ft.TFile)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Cid().Equals(want.Cid()) || !bytes.Equal(got.RawData(), want.RawData()) {
				t.Fatalf("raw %v, %d bytes: %s, the importer's leaf is %s", p.RawLeaves, size, got.Cid(), want.Cid())
			}
		}
	}
}

// BenchmarkLeaves: 1 MiB into 256 KiB leaves (CIDv0, kubo's default), by the importer's leaf
// path (chunker, UnixFS and dag-pb encodings, a batch), the anchor, and by addLeaves.
func BenchmarkLeaves(b *testing.B) {
	p := Params{ChunkSize: 256 << 10, MaxLinks: 174, Prefix: mustPrefix(0, mh.SHA2_256)}
	data := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(data)
	importer := func(ctx context.Context, dag ipld.DAGService, r io.Reader) error {
		db, err := (&helpers.DagBuilderParams{Dagserv: dag, Maxlinks: p.MaxLinks, CidBuilder: p.Prefix}).
			New(chunk.NewSizeSplitter(r, p.ChunkSize))
		if err != nil {
			return err
		}
		batch := ipld.NewBatch(ctx, dag)
		for !db.Done() {
			nd, _, err := db.NewLeafDataNode(ft.TFile)
			if err != nil {
				return err
			}
			if err := batch.Add(ctx, nd); err != nil {
				return err
			}
		}
		return batch.Commit()
	}
	ours := func(ctx context.Context, dag ipld.DAGService, r io.Reader) error {
		_, _, err := addLeaves(ctx, dag, p, r)
		return err
	}
	for _, way := range []struct {
		name string
		add  func(context.Context, ipld.DAGService, io.Reader) error
	}{{"importer", importer}, {"addLeaves", ours}} {
		b.Run(way.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				data[0] = byte(i) // new blocks every round
				if err := way.add(context.Background(), mdtest.Mock(), bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
