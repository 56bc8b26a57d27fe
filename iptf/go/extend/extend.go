// Package extend builds the UnixFS DAG of a file's content followed by more bytes, reusing the
// file's full leaves, so that appending to a file (a TensorBoard event file, a CSV log, a flush
// of a file still being written) costs in proportion to the bytes appended rather than to the
// whole file. The result is the DAG, and so the CID, that `ipfs add` gives for the whole content
// with the same settings: a balanced layout over fixed-size chunks.
//
// A balanced file DAG is fully determined by its list of leaves: every leaf but the last holds
// exactly one chunk, and the inner nodes form a left-packed tree of MaxLinks children per node
// whose leaves all sit at the same depth. Extending a file therefore means keeping its full
// leaves, re-chunking its last (partial) leaf together with the new bytes, and building the inner
// nodes again, which are few (one per MaxLinks leaves).
package extend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	chunk "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// Params are the import settings the DAG must follow: those `ipfs add` used for the base file
// and would use for the whole content.
type Params struct {
	ChunkSize int64      // fixed chunk size (the size-N chunker)
	RawLeaves bool       // leaves are raw blocks, not UnixFS nodes
	MaxLinks  int        // children per inner node
	Prefix    cid.Prefix // CID version and hash of every node (the codec follows the node's kind)
}

// ErrNotExtensible reports a base file whose DAG is not the one these params give for its
// content (another chunker, layout or CID kind): it cannot be extended leaf by leaf.
var ErrNotExtensible = errors.New("the file's DAG was not built with the repo's import settings")

// leaf is one leaf of a file DAG, as its parent links to it.
type leaf struct {
	cid   cid.Cid
	tsize uint64 // the link's size: the block's encoded size
	size  uint64 // the file bytes it holds
}

// Extend stores and returns the root of the file whose content is base's content followed by
// the bytes of more. base must be a file built with p (else ErrNotExtensible); its full leaves
// are reused without being read.
func Extend(ctx context.Context, dag ipld.DAGService, p Params, base cid.Cid, more io.Reader) (ipld.Node, error) {
	if p.ChunkSize <= 0 || p.MaxLinks < 2 {
		return nil, fmt.Errorf("extend: chunk size %d and %d links per node cannot build a DAG", p.ChunkSize, p.MaxLinks)
	}
	leaves, rootIsLeaf, err := leavesOf(ctx, dag, p, base)
	if err != nil {
		return nil, err
	}
	if err := checkCanonical(p, base, leaves, rootIsLeaf); err != nil {
		return nil, err
	}
	// The last leaf, if partial, is chunked again together with the new bytes.
	var head []byte
	if n := len(leaves); n > 0 && int64(leaves[n-1].size) < p.ChunkSize {
		if head, err = leafData(ctx, dag, leaves[n-1].cid); err != nil {
			return nil, err
		}
		leaves = leaves[:n-1]
	}
	added, last, err := addLeaves(ctx, dag, p, io.MultiReader(bytes.NewReader(head), more))
	if err != nil {
		return nil, err
	}
	leaves = append(leaves, added...)
	switch {
	case len(leaves) == 0: // an empty file is one empty leaf, as `ipfs add` makes it
		return emptyFile(ctx, dag, p)
	case len(leaves) == 1:
		if last != nil {
			return last, nil
		}
		return dag.Get(ctx, leaves[0].cid)
	}
	return buildTree(ctx, dag, p, leaves)
}

// leavesOf lists the leaves of the file DAG at root, in order, reading only its inner nodes
// (and the first leaf, whose kind tells how deep the leaves sit).
func leavesOf(ctx context.Context, dag ipld.DAGService, p Params, root cid.Cid) (leaves []leaf, rootIsLeaf bool, err error) {
	nd, err := dag.Get(ctx, root)
	if err != nil {
		return nil, false, err
	}
	size, isLeaf, err := describe(p, nd)
	if err != nil {
		return nil, false, err
	}
	if isLeaf {
		if size == 0 {
			return nil, true, nil
		}
		return []leaf{{cid: root, tsize: nodeSize(nd), size: size}}, true, nil
	}
	depth, err := leafDepth(ctx, dag, p, nd)
	if err != nil {
		return nil, false, err
	}
	err = walk(ctx, dag, p, nd.(*merkledag.ProtoNode), depth, &leaves)
	return leaves, false, err
}

// describe checks that nd is a node these params could have built and says whether it is a
// leaf, with the file bytes it (as a leaf) holds.
func describe(p Params, nd ipld.Node) (size uint64, isLeaf bool, err error) {
	pref := nd.Cid().Prefix()
	if pref.Version != p.Prefix.Version || pref.MhType != p.Prefix.MhType {
		return 0, false, ErrNotExtensible
	}
	switch n := nd.(type) {
	case *merkledag.RawNode:
		if !p.RawLeaves {
			return 0, false, ErrNotExtensible
		}
		return uint64(len(n.RawData())), true, nil
	case *merkledag.ProtoNode:
		fsn, err := ft.FSNodeFromBytes(n.Data())
		if err != nil || fsn.Type() != ft.TFile {
			return 0, false, ErrNotExtensible
		}
		if len(n.Links()) == 0 {
			// A UnixFS leaf: only without raw leaves (with them, even the empty file is raw).
			if p.RawLeaves || fsn.NumChildren() != 0 {
				return 0, false, ErrNotExtensible
			}
			return uint64(len(fsn.Data())), true, nil
		}
		if len(fsn.Data()) != 0 || fsn.NumChildren() != len(n.Links()) || len(n.Links()) > p.MaxLinks {
			return 0, false, ErrNotExtensible
		}
		return fsn.FileSize(), false, nil
	}
	return 0, false, ErrNotExtensible
}

// leafDepth follows first children down from an inner node to the first leaf.
func leafDepth(ctx context.Context, dag ipld.DAGService, p Params, nd ipld.Node) (int, error) {
	depth := 0
	for {
		links := nd.Links()
		if len(links) == 0 {
			return depth, nil
		}
		child, err := links[0].GetNode(ctx, dag)
		if err != nil {
			return 0, err
		}
		if _, _, err := describe(p, child); err != nil {
			return 0, err
		}
		nd, depth = child, depth+1
	}
}

// walk appends the leaves under an inner node whose leaves are depth levels below it.
func walk(ctx context.Context, dag ipld.DAGService, p Params, nd *merkledag.ProtoNode, depth int, out *[]leaf) error {
	fsn, err := ft.FSNodeFromBytes(nd.Data())
	if err != nil {
		return ErrNotExtensible
	}
	links := nd.Links()
	if depth == 1 {
		for i, l := range links {
			*out = append(*out, leaf{cid: l.Cid, tsize: l.Size, size: fsn.BlockSize(i)})
		}
		return nil
	}
	for _, l := range links {
		child, err := l.GetNode(ctx, dag)
		if err != nil {
			return err
		}
		inner, ok := child.(*merkledag.ProtoNode)
		if _, isLeaf, derr := describe(p, child); derr != nil || isLeaf || !ok {
			return ErrNotExtensible // leaves at different depths: not a balanced DAG
		}
		if err := walk(ctx, dag, p, inner, depth-1, out); err != nil {
			return err
		}
	}
	return nil
}

// checkCanonical makes sure the base is exactly what the importer builds for its content:
// full-size leaves but the last, of the kind the params make, under the inner nodes buildTree
// gives (computed without storing them).
func checkCanonical(p Params, base cid.Cid, leaves []leaf, rootIsLeaf bool) error {
	for i, l := range leaves {
		if i < len(leaves)-1 && int64(l.size) != p.ChunkSize || int64(l.size) > p.ChunkSize {
			return ErrNotExtensible
		}
		if (l.cid.Type() == cid.Raw) != p.RawLeaves {
			return ErrNotExtensible
		}
	}
	if rootIsLeaf {
		return nil // checked by describe
	}
	if len(leaves) < 2 {
		return ErrNotExtensible // the importer makes a lone leaf the root
	}
	root, err := buildTree(context.Background(), nil, p, leaves)
	if err != nil {
		return err
	}
	if !root.Cid().Equals(base) {
		return ErrNotExtensible
	}
	return nil
}

// leafData is the file bytes a leaf holds.
func leafData(ctx context.Context, dag ipld.DAGService, c cid.Cid) ([]byte, error) {
	nd, err := dag.Get(ctx, c)
	if err != nil {
		return nil, err
	}
	if pn, ok := nd.(*merkledag.ProtoNode); ok {
		fsn, err := ft.FSNodeFromBytes(pn.Data())
		if err != nil {
			return nil, ErrNotExtensible
		}
		return fsn.Data(), nil
	}
	return nd.RawData(), nil
}

// addLeaves chunks r into leaves as the importer does, stores them and lists them; last is the
// last leaf made (the root, should it be the only leaf of the file).
func addLeaves(ctx context.Context, dag ipld.DAGService, p Params, r io.Reader) ([]leaf, ipld.Node, error) {
	params := helpers.DagBuilderParams{Dagserv: dag, RawLeaves: p.RawLeaves, Maxlinks: p.MaxLinks, CidBuilder: p.Prefix}
	db, err := params.New(chunk.NewSizeSplitter(r, p.ChunkSize))
	if err != nil {
		return nil, nil, err
	}
	batch := ipld.NewBatch(ctx, dag)
	var out []leaf
	var last ipld.Node
	for !db.Done() {
		nd, size, err := db.NewLeafDataNode(ft.TFile)
		if err != nil {
			return nil, nil, err
		}
		if err := batch.Add(ctx, nd); err != nil {
			return nil, nil, err
		}
		out = append(out, leaf{cid: nd.Cid(), tsize: nodeSize(nd), size: size})
		last = nd
	}
	return out, last, batch.Commit()
}

// emptyFile stores and returns the empty file's node.
func emptyFile(ctx context.Context, dag ipld.DAGService, p Params) (ipld.Node, error) {
	params := helpers.DagBuilderParams{Dagserv: dag, RawLeaves: p.RawLeaves, Maxlinks: p.MaxLinks, CidBuilder: p.Prefix}
	db, err := params.New(chunk.NewSizeSplitter(bytes.NewReader(nil), p.ChunkSize))
	if err != nil {
		return nil, err
	}
	nd, err := db.NewLeafNode(nil, ft.TFile)
	if err != nil {
		return nil, err
	}
	return nd, dag.Add(ctx, nd)
}

// buildTree builds the inner nodes over two or more leaves, as the balanced layout does: the
// shallowest left-packed tree of MaxLinks children per node with every leaf at the same depth.
// It stores them in dag unless dag is nil.
func buildTree(ctx context.Context, dag ipld.DAGService, p Params, leaves []leaf) (ipld.Node, error) {
	depth, span := 1, p.MaxLinks // span: the leaves one node at this depth covers
	for span < len(leaves) {
		depth++
		span *= p.MaxLinks
	}
	nd, _, err := build(ctx, dag, p, leaves, depth, span/p.MaxLinks)
	return nd, err
}

// build makes the node at depth over leaves; childSpan is the leaves each of its children covers.
// It returns the node and the link to it its parent holds.
func build(ctx context.Context, dag ipld.DAGService, p Params, leaves []leaf, depth, childSpan int) (*merkledag.ProtoNode, leaf, error) {
	fsn := ft.NewFSNode(ft.TFile)
	nd := new(merkledag.ProtoNode)
	if err := nd.SetCidBuilder(p.Prefix); err != nil {
		return nil, leaf{}, err
	}
	for start := 0; start < len(leaves); start += childSpan {
		end := min(start+childSpan, len(leaves))
		child := leaves[start]
		if depth > 1 {
			var err error
			if _, child, err = build(ctx, dag, p, leaves[start:end], depth-1, childSpan/p.MaxLinks); err != nil {
				return nil, leaf{}, err
			}
		}
		if err := nd.AddRawLink("", &ipld.Link{Cid: child.cid, Size: child.tsize}); err != nil {
			return nil, leaf{}, err
		}
		fsn.AddBlockSize(child.size)
	}
	data, err := fsn.GetBytes()
	if err != nil {
		return nil, leaf{}, err
	}
	nd.SetData(data)
	if dag != nil {
		if err := dag.Add(ctx, nd); err != nil {
			return nil, leaf{}, err
		}
	}
	return nd, leaf{cid: nd.Cid(), tsize: nodeSize(nd), size: fsn.FileSize()}, nil
}

// nodeSize is a node's cumulative size, as a link to it records it.
func nodeSize(nd ipld.Node) uint64 {
	s, err := nd.Size()
	if err != nil {
		return uint64(len(nd.RawData()))
	}
	return s
}
