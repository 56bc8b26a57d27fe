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
	"sync"

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
// the bytes of more. base must be a file built with p (else ErrNotExtensible), which Extend
// checks by reading base's inner nodes; its full leaves are reused without being read.
func Extend(ctx context.Context, dag ipld.DAGService, p Params, base cid.Cid, more io.Reader) (ipld.Node, error) {
	return NewExtender().Extend(ctx, dag, p, base, more)
}

// Extender extends file DAGs and remembers the roots it has built or checked: extending one
// of those again reads only the right edge of its DAG (a node per level), so a file appended
// to many times costs, per append, what the new bytes cost.
type Extender struct {
	mu       sync.Mutex
	params   Params               // the settings the roots below are canonical for
	verified map[cid.Cid]struct{} // roots known to be what the importer builds with params
}

// maxVerified bounds the roots an Extender remembers; it forgets them all when full (a root
// forgotten is checked in full again, once).
const maxVerified = 1 << 14

// NewExtender returns an Extender that knows no roots yet.
func NewExtender() *Extender { return &Extender{verified: map[cid.Cid]struct{}{}} }

// Extend is the package's Extend; a base this Extender built or checked earlier is not read
// beyond its right edge.
func (e *Extender) Extend(ctx context.Context, dag ipld.DAGService, p Params, base cid.Cid, more io.Reader) (ipld.Node, error) {
	if err := checkParams(p); err != nil {
		return nil, err
	}
	var f *forest
	var err error
	if e.knows(p, base) {
		f, err = edgeOf(ctx, dag, p, base)
	} else {
		f, err = allLeavesOf(ctx, dag, p, base)
	}
	if err != nil {
		return nil, err
	}
	// The last leaf, if partial, is chunked again together with the new bytes.
	var head []byte
	if n := len(f.tail); n > 0 && int64(f.tail[n-1].size) < p.ChunkSize {
		if head, err = leafData(ctx, dag, f.tail[n-1].cid); err != nil {
			return nil, err
		}
		f.tail = f.tail[:n-1]
	}
	return e.grow(ctx, dag, p, f, io.MultiReader(bytes.NewReader(head), more))
}

// Import stores and returns the root of a file of content's bytes: the DAG `ipfs add` builds
// with p, made as an extension of nothing (so that a later Extend of it reads only its edge).
func (e *Extender) Import(ctx context.Context, dag ipld.DAGService, p Params, content io.Reader) (ipld.Node, error) {
	if err := checkParams(p); err != nil {
		return nil, err
	}
	return e.grow(ctx, dag, p, &forest{whole: map[int]subtree{}}, content)
}

func checkParams(p Params) error {
	if p.ChunkSize <= 0 || p.MaxLinks < 2 {
		return fmt.Errorf("extend: chunk size %d and %d links per node cannot build a DAG", p.ChunkSize, p.MaxLinks)
	}
	return nil
}

// grow adds the leaves of more after f's and stores the file's root over them all.
func (e *Extender) grow(ctx context.Context, dag ipld.DAGService, p Params, f *forest, more io.Reader) (ipld.Node, error) {
	added, last, err := addLeaves(ctx, dag, p, more)
	if err != nil {
		return nil, err
	}
	f.tail = append(f.tail, added...)
	var nd ipld.Node
	switch {
	case f.len() == 0: // an empty file is one empty leaf, as `ipfs add` makes it
		nd, err = emptyFile(ctx, dag, p)
	case f.len() == 1 && last != nil:
		nd = last
	case f.len() == 1:
		nd, err = dag.Get(ctx, f.tail[0].cid)
	default:
		nd, err = buildTree(ctx, dag, p, f)
	}
	if err != nil {
		return nil, err
	}
	e.remember(p, nd.Cid())
	return nd, nil
}

func (e *Extender) knows(p Params, root cid.Cid) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.verified[root]
	return ok && e.params == p
}

func (e *Extender) remember(p Params, root cid.Cid) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.params != p || len(e.verified) >= maxVerified {
		e.params, e.verified = p, map[cid.Cid]struct{}{}
	}
	e.verified[root] = struct{}{}
}

// forest is a file's leaves in order, the first `covered` of them known only through the
// complete subtrees above them (whole nodes of the base, reused by link without being read).
type forest struct {
	whole   map[int]subtree // by the index of its first leaf
	covered int
	tail    []leaf // the leaves from index covered on
}

// subtree is a complete inner node: MaxLinks^height full leaves under it.
type subtree struct {
	span int // its leaves
	link leaf
}

func (f *forest) len() int { return f.covered + len(f.tail) }

// allLeavesOf reads every inner node of base, checks that the importer would build exactly
// base over its leaves, and returns them.
func allLeavesOf(ctx context.Context, dag ipld.DAGService, p Params, base cid.Cid) (*forest, error) {
	leaves, rootIsLeaf, err := leavesOf(ctx, dag, p, base)
	if err != nil {
		return nil, err
	}
	if err := checkCanonical(p, base, leaves, rootIsLeaf); err != nil {
		return nil, err
	}
	return &forest{tail: leaves}, nil
}

// edgeOf reads the right edge of base (a root known to be canonical): the last child of each
// node down to the leaves. The other children of an edge node are complete subtrees; the
// edge's lowest node gives the leaves. It checks that they make base again.
func edgeOf(ctx context.Context, dag ipld.DAGService, p Params, base cid.Cid) (*forest, error) {
	nd, err := dag.Get(ctx, base)
	if err != nil {
		return nil, err
	}
	size, isLeaf, err := describe(p, nd)
	switch {
	case err != nil:
		return nil, err
	case isLeaf && size == 0:
		return &forest{}, nil
	case isLeaf:
		return &forest{tail: []leaf{{cid: base, tsize: nodeSize(nd), size: size}}}, nil
	}
	var edge []*merkledag.ProtoNode // from the root down to the node whose children are leaves
	for {
		pn, ok := nd.(*merkledag.ProtoNode)
		if !ok {
			return nil, ErrNotExtensible
		}
		edge = append(edge, pn)
		links := pn.Links()
		child, err := links[len(links)-1].GetNode(ctx, dag)
		if err != nil {
			return nil, err
		}
		_, childIsLeaf, err := describe(p, child)
		if err != nil {
			return nil, err
		}
		if childIsLeaf {
			break
		}
		nd = child
	}
	f := &forest{whole: map[int]subtree{}}
	for i, pn := range edge {
		fsn, err := ft.FSNodeFromBytes(pn.Data())
		if err != nil {
			return nil, ErrNotExtensible
		}
		links := pn.Links()
		if height := len(edge) - i; height == 1 {
			for j, l := range links {
				f.tail = append(f.tail, leaf{cid: l.Cid, tsize: l.Size, size: fsn.BlockSize(j)})
			}
			break
		}
		span := 1
		for range len(edge) - i - 1 {
			span *= p.MaxLinks
		}
		for j, l := range links[:len(links)-1] {
			if fsn.BlockSize(j) != uint64(p.ChunkSize)*uint64(span) {
				return nil, ErrNotExtensible
			}
			f.whole[f.covered] = subtree{span: span, link: leaf{cid: l.Cid, tsize: l.Size, size: fsn.BlockSize(j)}}
			f.covered += span
		}
	}
	if err := checkLeaves(p, f.tail); err != nil {
		return nil, err
	}
	root, err := buildTree(ctx, nil, p, f)
	if err != nil {
		return nil, err
	}
	if !root.Cid().Equals(base) {
		return nil, ErrNotExtensible
	}
	return f, nil
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
	if err := checkLeaves(p, leaves); err != nil {
		return err
	}
	if rootIsLeaf {
		return nil // checked by describe
	}
	if len(leaves) < 2 {
		return ErrNotExtensible // the importer makes a lone leaf the root
	}
	root, err := buildTree(context.Background(), nil, p, &forest{tail: leaves})
	if err != nil {
		return err
	}
	if !root.Cid().Equals(base) {
		return ErrNotExtensible
	}
	return nil
}

// checkLeaves makes sure leaves are full-size but the last, and of the kind the params make.
func checkLeaves(p Params, leaves []leaf) error {
	for i, l := range leaves {
		if i < len(leaves)-1 && int64(l.size) != p.ChunkSize || int64(l.size) > p.ChunkSize {
			return ErrNotExtensible
		}
		if (l.cid.Type() == cid.Raw) != p.RawLeaves {
			return ErrNotExtensible
		}
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

// buildTree builds the inner nodes over f's two or more leaves, as the balanced layout does: the
// shallowest left-packed tree of MaxLinks children per node with every leaf at the same depth.
// It stores them in dag unless dag is nil; a complete subtree f knows is linked, not rebuilt.
func buildTree(ctx context.Context, dag ipld.DAGService, p Params, f *forest) (ipld.Node, error) {
	depth, span := 1, p.MaxLinks // span: the leaves one node at this depth covers
	for span < f.len() {
		depth++
		span *= p.MaxLinks
	}
	nd, link, err := f.build(ctx, dag, p, 0, f.len(), depth, span/p.MaxLinks)
	if err != nil || nd != nil {
		return nd, err
	}
	return dag.Get(ctx, link.cid) // the whole tree is a subtree of the base (nothing was added)
}

// build makes the node at depth over leaves [start, end); childSpan is the leaves each of its
// children covers. It returns the node (nil when f knows it as a complete subtree) and the link
// to it its parent holds.
func (f *forest) build(ctx context.Context, dag ipld.DAGService, p Params, start, end, depth, childSpan int) (*merkledag.ProtoNode, leaf, error) {
	if known, ok := f.whole[start]; ok && known.span == end-start && end-start == childSpan*p.MaxLinks {
		return nil, known.link, nil
	}
	fsn := ft.NewFSNode(ft.TFile)
	nd := new(merkledag.ProtoNode)
	if err := nd.SetCidBuilder(p.Prefix); err != nil {
		return nil, leaf{}, err
	}
	for from := start; from < end; from += childSpan {
		var child leaf
		if depth > 1 {
			var err error
			if _, child, err = f.build(ctx, dag, p, from, min(from+childSpan, end), depth-1, childSpan/p.MaxLinks); err != nil {
				return nil, leaf{}, err
			}
		} else if from >= f.covered {
			child = f.tail[from-f.covered]
		} else {
			// A leaf inside a known subtree: the tree's shape differs from the base's.
			return nil, leaf{}, ErrNotExtensible
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
