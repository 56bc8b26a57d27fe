package extend

import (
	"context"
	"errors"
	"io"

	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"google.golang.org/protobuf/encoding/protowire"
)

// The importer's leaf of a UnixFS file is a dag-pb node whose only field is its Data: a UnixFS
// message {Type: File, Data: the chunk, filesize: the chunk's length}, fields in that order.
// Encoding it here around the chunk, read straight into place, makes one buffer per leaf where
// the importer's path (chunker, UnixFS marshal, dag-pb encode) makes three and copies twice:
// on a 2-core machine an import's allocations and their collection compete with the writer.
const (
	unixfsTypeFile = 2
	maxVarint      = 10
	// headRoom fits what precedes the chunk: the node's Data tag and length, the UnixFS Type
	// field, the UnixFS Data tag and length.
	headRoom = 1 + maxVarint + 2 + 1 + maxVarint
	// tailRoom fits what follows it: the filesize field.
	tailRoom = 1 + maxVarint
)

// leafMaker reads chunks of a fixed size and makes the leaves the importer makes of them.
type leafMaker struct {
	p Params
	r io.Reader
}

// next returns the next leaf and the file bytes it holds, or io.EOF after the last.
func (m *leafMaker) next() (ipld.Node, uint64, error) {
	if m.p.RawLeaves {
		buf := make([]byte, m.p.ChunkSize)
		n, err := readChunk(m.r, buf)
		if err != nil {
			return nil, 0, err
		}
		nd, err := merkledag.NewRawNodeWPrefix(buf[:n], m.p.Prefix)
		return nd, uint64(n), err
	}
	buf := make([]byte, headRoom+int(m.p.ChunkSize)+tailRoom)
	n, err := readChunk(m.r, buf[headRoom:headRoom+int(m.p.ChunkSize)])
	if err != nil {
		return nil, 0, err
	}
	encoded := encodeLeaf(buf, n)
	c, err := m.p.Prefix.WithCodec(cid.DagProtobuf).Sum(encoded)
	if err != nil {
		return nil, 0, err
	}
	blk, err := blocks.NewBlockWithCid(encoded, c)
	if err != nil {
		return nil, 0, err
	}
	// Decoding keeps the encoded bytes as the node's own: they are stored as they are.
	nd, err := merkledag.DecodeProtobufBlock(blk)
	return nd, uint64(n), err
}

// readChunk fills chunk as far as r allows; io.EOF when r had nothing left.
func readChunk(r io.Reader, chunk []byte) (int, error) {
	n, err := io.ReadFull(r, chunk)
	switch {
	case n > 0 && (err == nil || errors.Is(err, io.ErrUnexpectedEOF)):
		return n, nil
	case err == nil || errors.Is(err, io.ErrUnexpectedEOF):
		return 0, io.EOF
	}
	return 0, err
}

// encodeLeaf writes the leaf's fields around the n chunk bytes at buf[headRoom:] and returns
// the encoded node, a slice of buf.
func encodeLeaf(buf []byte, n int) []byte {
	size := uint64(n)
	unixfs := 2 + 1 + protowire.SizeVarint(size) + n + 1 + protowire.SizeVarint(size)
	start := headRoom - (1 + protowire.SizeVarint(uint64(unixfs)) + 2 + 1 + protowire.SizeVarint(size))
	head := buf[start:start:headRoom]
	head = protowire.AppendTag(head, 1, protowire.BytesType) // PBNode.Data
	head = protowire.AppendVarint(head, uint64(unixfs))
	head = protowire.AppendTag(head, 1, protowire.VarintType) // Data.Type
	head = protowire.AppendVarint(head, unixfsTypeFile)
	head = protowire.AppendTag(head, 2, protowire.BytesType) // Data.Data
	protowire.AppendVarint(head, size)
	tail := buf[headRoom+n : headRoom+n]
	tail = protowire.AppendTag(tail, 3, protowire.VarintType) // Data.filesize
	tail = protowire.AppendVarint(tail, size)
	return buf[start : headRoom+n+len(tail)]
}

// addLeaves chunks r into leaves as the importer does, stores them one by one and lists them;
// last is the last leaf made (the root, should it be the only leaf of the file).
func addLeaves(ctx context.Context, dag ipld.DAGService, p Params, r io.Reader) ([]leaf, ipld.Node, error) {
	m := leafMaker{p: p, r: r}
	var out []leaf
	var last ipld.Node
	for {
		if err := ctx.Err(); err != nil { // a stopping node leaves the write journaled, not half done
			return nil, nil, err
		}
		nd, size, err := m.next()
		if errors.Is(err, io.EOF) {
			return out, last, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if err := dag.Add(ctx, nd); err != nil {
			return nil, nil, err
		}
		out = append(out, leaf{cid: nd.Cid(), tsize: uint64(len(nd.RawData())), size: size})
		last = nd
	}
}
