package fetch

import (
	"testing"

	dag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	blocks "github.com/ipfs/go-block-format"
)

func TestLeavesRemembersDagPbBlocksWithoutLinks(t *testing.T) {
	l := newLeaves()
	leaf := dag.NodeWithData(unixfs.FilePBData([]byte("a chunk of a CIDv0 file"), 23))
	parent := dag.NodeWithData(unixfs.FilePBData(nil, 23))
	if err := parent.AddNodeLink("", leaf); err != nil {
		t.Fatal(err)
	}
	raw := blocks.NewBlock([]byte("a raw leaf"))
	for _, b := range []blocks.Block{leaf, parent, raw} {
		l.note(b)
	}
	if !l.has(leaf.Cid()) {
		t.Error("a dag-pb leaf is not remembered")
	}
	if l.has(parent.Cid()) {
		t.Error("a dag-pb node with a link is taken for a leaf")
	}
	if l.has(raw.Cid()) {
		t.Error("a raw block is remembered (ensure never reads one)")
	}
}

func TestLeavesForgetsTheOldestBeyondItsBound(t *testing.T) {
	l := newLeaves()
	first := dag.NodeWithData(unixfs.FilePBData([]byte{0}, 1)).Cid()
	l.add(first)
	for i := 1; i <= maxLeaves; i++ {
		l.add(dag.NodeWithData(unixfs.FilePBData([]byte{byte(i), byte(i >> 8), byte(i >> 16)}, 3)).Cid())
	}
	if l.has(first) {
		t.Error("the oldest leaf is still remembered past the bound")
	}
	if len(l.known) != maxLeaves {
		t.Errorf("%d leaves remembered, want %d", len(l.known), maxLeaves)
	}
}
