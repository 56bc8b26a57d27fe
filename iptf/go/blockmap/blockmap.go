// Package blockmap tells where each byte range of a UnixFS file lives in the local blockstore,
// so that a reader can take cached bytes straight from the block files.
package blockmap

import (
	"context"
	"errors"
	"fmt"
	"os"

	blockstore "github.com/ipfs/boxo/blockstore"
	dag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	unixfspb "github.com/ipfs/boxo/ipld/unixfs/pb"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"

	"iptf.io/node/protocol"
)

// Span and Map are the protocol's: the block map is what iptf/open and iptf/blockmap answer.
type (
	Span = protocol.Span
	Map  = protocol.FileMap
)

// prefixLen is how much of a block is read to find where a leaf's data starts.
const prefixLen = 64

// Builder maps files using a local blockstore; it never fetches blocks from the network.
type Builder struct {
	Blocks  blockstore.Blockstore
	Locator *Locator
	maps    *mapCache // nil: nothing is kept
}

// NewBuilder returns a Builder over a repo's blockstore and the locator of its block files
// that keeps the maps it builds (see cache.go).
func NewBuilder(blocks blockstore.Blockstore, locator *Locator) *Builder {
	return &Builder{Blocks: blocks, Locator: locator, maps: newMapCache(cachedSpans)}
}

// Build maps the UnixFS node nd, whose block is already at hand. Maps of files held wholly in
// block files are kept (see cache.go) and served again without a walk.
func (b *Builder) Build(ctx context.Context, nd ipld.Node) (*Map, error) {
	m, _, err := b.BuildWithBlocks(ctx, nd)
	return m, err
}

// BuildWithBlocks is Build that also lists the CIDs the spans name, in their order: a kept
// map keeps them too, so a file opened again costs no decoding of its spans' CIDs.
func (b *Builder) BuildWithBlocks(ctx context.Context, nd ipld.Node) (*Map, []cid.Cid, error) {
	if b.maps == nil {
		m, err := b.build(ctx, nd)
		if err != nil {
			return nil, nil, err
		}
		return m, spanBlocks(m), nil
	}
	key := nd.Cid().KeyString()
	if m, blocks := b.maps.get(key); m != nil {
		return m, blocks, nil
	}
	m, err := b.build(ctx, nd)
	if err != nil {
		return nil, nil, err
	}
	blocks := spanBlocks(m)
	b.maps.put(key, m, blocks)
	return m, blocks, nil
}

// spanBlocks lists the blocks (or subtree roots) a map's spans name.
func spanBlocks(m *Map) []cid.Cid {
	out := make([]cid.Cid, 0, len(m.Spans))
	for _, s := range m.Spans {
		if c, err := cid.Decode(s.Cid); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// Forget drops every kept map: call it once blocks may have left the blockstore.
func (b *Builder) Forget() {
	if b.maps != nil {
		b.maps.clear()
	}
}

// ErrNotUnixFS is the error (wrapped) for a node that is no UnixFS file or directory: a
// dag-cbor or dag-json block, a malformed dag-pb one, an unsupported UnixFS type.
var ErrNotUnixFS = errors.New("not a UnixFS file or directory")

func (b *Builder) build(ctx context.Context, nd ipld.Node) (*Map, error) {
	c := nd.Cid()
	switch n := nd.(type) {
	case *dag.RawNode:
		size := uint64(len(n.RawData()))
		return &Map{Cid: c.String(), Type: protocol.TypeFile, Size: size, Spans: []Span{b.rawSpan(c, 0, size)}}, nil
	case *dag.ProtoNode:
		fsn, err := unixfs.FSNodeFromBytes(n.Data())
		if err != nil {
			return nil, fmt.Errorf("%s: %w (%v)", c, ErrNotUnixFS, err)
		}
		switch fsn.Type() {
		case unixfspb.Data_Directory, unixfspb.Data_HAMTShard:
			return &Map{Cid: c.String(), Type: protocol.TypeDirectory}, nil
		case unixfspb.Data_Symlink:
			return &Map{Cid: c.String(), Type: protocol.TypeSymlink, Size: uint64(len(fsn.Data()))}, nil
		case unixfspb.Data_File, unixfspb.Data_Raw:
			m := &Map{Cid: c.String(), Type: protocol.TypeFile, Size: fsn.FileSize(), Spans: []Span{}}
			if _, err := b.walk(ctx, n, fsn, 0, &m.Spans); err != nil {
				return nil, err
			}
			return m, nil
		default:
			return nil, fmt.Errorf("%s: %w (UnixFS type %s)", c, ErrNotUnixFS, fsn.Type())
		}
	default:
		return nil, fmt.Errorf("%s: %w (codec 0x%x)", c, ErrNotUnixFS, c.Prefix().Codec)
	}
}

// walk appends the spans of a file node that starts at offset and returns its end.
func (b *Builder) walk(ctx context.Context, n *dag.ProtoNode, fsn *unixfs.FSNode, offset uint64, out *[]Span) (uint64, error) {
	if data := fsn.Data(); len(data) > 0 {
		span := Span{Offset: offset, Length: uint64(len(data)), Cid: n.Cid().String(), Local: true}
		if off, _, err := dataSpan(n.RawData()); err == nil && !isIdentity(n.Cid()) {
			if file := b.Locator.File(n.Cid()); file != "" {
				span.File, span.FileOffset = file, uint64(off)
			}
		}
		*out = append(*out, span)
		offset += span.Length
	}
	links := n.Links()
	if len(links) != fsn.NumChildren() {
		return 0, fmt.Errorf("%s: %d links but %d block sizes", n.Cid(), len(links), fsn.NumChildren())
	}
	for i, link := range links {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		size := fsn.BlockSize(i)
		if err := b.child(ctx, link.Cid, offset, size, out); err != nil {
			return 0, err
		}
		offset += size
	}
	return offset, nil
}

// child appends the spans of the subtree c, which covers size bytes from offset.
func (b *Builder) child(ctx context.Context, c cid.Cid, offset, size uint64, out *[]Span) error {
	has, err := b.Blocks.Has(ctx, c)
	if err != nil {
		return err
	}
	if !has {
		*out = append(*out, Span{Offset: offset, Length: size, Cid: c.String()})
		return nil
	}
	if c.Prefix().Codec == cid.Raw {
		*out = append(*out, b.rawSpan(c, offset, size))
		return nil
	}
	if c.Prefix().Codec != cid.DagProtobuf {
		return fmt.Errorf("%s: unsupported codec 0x%x inside a UnixFS file", c, c.Prefix().Codec)
	}
	// Most children are leaves: their prefix says where the bytes are without reading them all.
	if file := b.Locator.File(c); file != "" && !isIdentity(c) {
		if off, n, ok := leafFromPrefix(file); ok && uint64(n) == size {
			*out = append(*out, Span{Offset: offset, Length: size, Cid: c.String(), Local: true, File: file, FileOffset: uint64(off)})
			return nil
		}
	}
	blk, err := b.Blocks.Get(ctx, c)
	if err != nil {
		return err
	}
	pn, err := dag.DecodeProtobuf(blk.RawData())
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	fsn, err := unixfs.FSNodeFromBytes(pn.Data())
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	end, err := b.walk(ctx, pn, fsn, offset, out)
	if err != nil {
		return err
	}
	if end-offset != size {
		return fmt.Errorf("%s: holds %d bytes, its parent says %d", c, end-offset, size)
	}
	return nil
}

func (b *Builder) rawSpan(c cid.Cid, offset, size uint64) Span {
	s := Span{Offset: offset, Length: size, Cid: c.String(), Local: true}
	if !isIdentity(c) {
		s.File = b.Locator.File(c)
	}
	return s
}

// leafFromPrefix reads the start of a block file and, when the block is a leaf whose data
// field comes first, returns where its bytes start and how many there are.
func leafFromPrefix(file string) (offset, length int, ok bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	buf := make([]byte, prefixLen)
	n, _ := f.ReadAt(buf, 0)
	if n == 0 || buf[0] != 0x0a { // a block with links starts with field 2
		return 0, 0, false
	}
	off, l, err := dataSpan(buf[:n])
	if err != nil {
		return 0, 0, false
	}
	return off, l, true
}

func isIdentity(c cid.Cid) bool { return c.Prefix().MhType == mh.IDENTITY }
