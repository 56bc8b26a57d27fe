// Reading: streaming a file's bytes (fetching what is missing) and mapping where they lie.

package fsapi

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/ipfs/boxo/blockservice"
	offline "github.com/ipfs/boxo/exchange/offline"
	dag "github.com/ipfs/boxo/ipld/merkledag"
	unixfsio "github.com/ipfs/boxo/ipld/unixfs/io"
	ipld "github.com/ipfs/go-ipld-format"

	"iptf.io/node/fetch"
	"iptf.io/node/protocol"
	"iptf.io/node/reflog"
	"iptf.io/node/uri"
)

// Read returns the bytes [offset, offset+length) of the file at the iptf:// URI raw, fetching
// the blocks they need and, for a sequential reader, the next window.
func (fs *FS) Read(ctx context.Context, raw string, offset, length uint64, who Caller) (io.Reader, error) {
	u, err := fs.parseSettled(ctx, raw)
	if err != nil {
		return nil, err
	}
	if u.Namespace == uri.Meta {
		return nil, errorf(InvalidArgument, u.Raw, "read meta paths with open")
	}
	nd, size, err := fs.fileNode(ctx, u)
	if err != nil {
		return nil, err
	}
	fs.record(reflog.Read, u, nd.Cid().String(), size, who)
	if offset >= size {
		return bytes.NewReader(nil), nil
	}
	length = min(length, size-offset)
	// The fetcher makes each window local before it is read: the reader itself must not fetch.
	// (An online DAG reader preloads the next blocks under this request's context, and when
	// the request ends their wants are cancelled while the blocks are on their way; the peer
	// guard then takes the honest sender for a forger and drops it.)
	local := dag.NewDAGService(blockservice.New(fs.Node.Blockstore, offline.Exchange(fs.Node.Blockstore)))
	r := &fetchingReader{ctx: ctx, raw: u.Raw, fetcher: fs.Fetcher, dagService: local, root: nd,
		size: size, pos: offset, end: offset + length, release: func() {}}
	// The window being sent is held from eviction until the next one, or the request's end.
	context.AfterFunc(ctx, r.releaseWindow)
	// Make the first window local now, so that a missing block is this command's error.
	if err := r.fetchWindow(); err != nil {
		return nil, err
	}
	return r, nil
}

// fetchingReader reads a range window by window, making each window local (and starting the
// next) before reading it, so that fetching overlaps sending.
type fetchingReader struct {
	ctx        context.Context
	raw        string
	fetcher    *fetch.Fetcher
	dagService ipld.DAGService
	root       ipld.Node
	size       uint64
	dag        io.ReadSeeker // opened again each time a window is local

	mu       sync.Mutex
	release  func() // lets the cache evict the current window's blocks again
	pos, end uint64 // next byte to read; end of the range
	readyEnd uint64 // bytes before this are local
}

// readWindow is how much of a range is made local before its bytes are sent.
const readWindow = 8 << 20

// fetchWindow makes the next window local and opens the reader at the current position.
func (r *fetchingReader) fetchWindow() error {
	n := min(readWindow, r.end-r.pos)
	r.releaseWindow()
	release, err := r.fetcher.Read(r.ctx, r.root, r.size, r.pos, n)
	r.mu.Lock()
	r.release = release
	r.mu.Unlock()
	if err != nil {
		return classify(r.raw, err)
	}
	r.readyEnd = r.pos + n
	// A reader per window: a DAG reader preloads children beyond the window, which over the
	// local-only DAG service fail while they are still being fetched, and it keeps those
	// failures. A fresh reader starts from blocks that are all local now.
	dr, err := unixfsio.NewDagReader(r.ctx, r.root, r.dagService)
	if err != nil {
		return classify(r.raw, err)
	}
	if _, err := dr.Seek(int64(r.pos), io.SeekStart); err != nil {
		return classify(r.raw, err)
	}
	r.dag = dr
	return nil
}

// releaseWindow lets go of the blocks of the window read last.
func (r *fetchingReader) releaseWindow() {
	r.mu.Lock()
	release := r.release
	r.release = func() {}
	r.mu.Unlock()
	release()
}

func (r *fetchingReader) Read(p []byte) (int, error) {
	if r.pos >= r.end {
		return 0, io.EOF
	}
	if r.pos >= r.readyEnd {
		if err := r.fetchWindow(); err != nil {
			return 0, err
		}
	}
	p = p[:min(uint64(len(p)), r.readyEnd-r.pos)]
	n, err := r.dag.Read(p)
	r.pos += uint64(n)
	if r.pos >= r.end {
		r.releaseWindow()
	}
	if err == io.EOF && r.pos < r.end {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		// An error here ends the answer mid-stream (its trailer): it must carry its class too.
		err = classify(r.raw, err)
	}
	return n, err
}

// Open maps the file at raw for reading and records the read in the reflog; known is the CID
// of a map the caller holds (or ""), whose spans the answer then leaves out.
func (fs *FS) Open(ctx context.Context, raw string, known string, who Caller) (*protocol.Opened, error) {
	u, err := fs.parseSettled(ctx, raw)
	if err != nil {
		return nil, err
	}
	if u.Namespace == uri.Meta {
		text, err := fs.metaJSON(ctx, u)
		if err != nil {
			return nil, err
		}
		s := string(text)
		return &protocol.Opened{FileMap: protocol.FileMap{Type: protocol.TypeFile, Size: uint64(len(text)), Spans: []protocol.Span{}}, Inline: &s}, nil
	}
	nd, err := fs.node(ctx, u)
	if err != nil {
		return nil, err
	}
	m, blocks, err := fs.Blocks.BuildWithBlocks(ctx, nd)
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	if m.Type == protocol.TypeDirectory {
		return nil, errorf(FailedPrecondition, u.Raw, "is a directory")
	}
	fs.record(reflog.Read, u, m.Cid, m.Size, who)
	if fs.Opened != nil {
		fs.Opened(nd.Cid(), blocks)
	}
	if known != "" && known == m.Cid {
		// The caller holds this map: a 512 MiB file's spans are about 440 KB of JSON.
		unchanged := *m
		unchanged.Spans = nil
		return &protocol.Opened{FileMap: unchanged, Known: true}, nil
	}
	return &protocol.Opened{FileMap: *m}, nil
}

// BlockMap maps the file or directory at raw without fetching any block it does not hold
// (beyond the path's own) and without recording a read: a reader's look at a subtree.
func (fs *FS) BlockMap(ctx context.Context, raw string) (*protocol.FileMap, error) {
	u, err := fs.parseSettled(ctx, raw)
	if err != nil {
		return nil, err
	}
	if u.Namespace == uri.Meta {
		return nil, errorf(InvalidArgument, u.Raw, "meta files have no blocks: open them")
	}
	nd, err := fs.node(ctx, u)
	if err != nil {
		return nil, err
	}
	m, err := fs.Blocks.Build(ctx, nd)
	return m, classify(u.Raw, err)
}
