package fsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	gopath "path"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/boxo/blockservice"
	offline "github.com/ipfs/boxo/exchange/offline"
	dag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	unixfsio "github.com/ipfs/boxo/ipld/unixfs/io"
	unixfspb "github.com/ipfs/boxo/ipld/unixfs/pb"
	"github.com/ipfs/boxo/mfs"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	cmds "github.com/ipfs/go-ipfs-cmds"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/ipfs/kubo/core"
	coreiface "github.com/ipfs/kubo/core/coreiface"
	"github.com/ipfs/kubo/core/coreiface/options"

	"iptf.io/node/blockmap"
	"iptf.io/node/extend"
	"iptf.io/node/fetch"
	"iptf.io/node/protocol"
	"iptf.io/node/reflog"
	"iptf.io/node/repodir"
	"iptf.io/node/staging"
	"iptf.io/node/uri"
	"iptf.io/node/writeback"
)

// FS serves the plugin's filesystem calls from one node. Make it with New: its views
// (WithAPI, WithPending) share its tree lock.
type FS struct {
	Node    *core.IpfsNode
	API     coreiface.CoreAPI
	Env     cmds.Environment // for running kubo's own commands (add)
	Blocks  *blockmap.Builder
	Fetcher *fetch.Fetcher // the node's one fetcher, so that readahead is not repeated
	Reflog  *reflog.Log
	// Pending holds closed files not yet in the tree; operations on the tree wait for the
	// ones touching their paths. Nil: every write is applied before it returns.
	Pending *writeback.Queue
	// Staging is the repo's staging directory: writes take their staged files only from it.
	Staging string
	// Opened, when set, hears of every file opened for reading: its root and the blocks its
	// map names (the cache dates them by it: a reader reads local blocks without the node).
	Opened func(root cid.Cid, blocks []cid.Cid)
	// Extender extends the DAGs of files appended to; it remembers the files it built, whose
	// next append reads only their DAG's right edge.
	Extender *extend.Extender

	// tree serialises changes to the writable tree: flushing a directory replaces the cached
	// objects of its children, so a change made through a stale object would be lost.
	tree *sync.Mutex
}

// New returns the filesystem of node, whose repo is at repo; env runs kubo's commands on
// node. The block-map locator reads the repo's datastore spec now, once.
func New(node *core.IpfsNode, api coreiface.CoreAPI, env cmds.Environment, repo string,
	fetcher *fetch.Fetcher, log *reflog.Log) *FS {
	return &FS{
		Node:     node,
		API:      api,
		Env:      env,
		Blocks:   blockmap.NewBuilder(node.Blockstore, blockmap.NewLocator(repo)),
		Fetcher:  fetcher,
		Reflog:   log,
		Staging:  repodir.Staging(repo),
		Extender: extend.NewExtender(),
		tree:     new(sync.Mutex),
	}
}

// WithAPI returns a view of fs that resolves through api (a request's, offline say).
func (fs *FS) WithAPI(api coreiface.CoreAPI) *FS {
	v := *fs
	v.API = api
	return &v
}

// WithPending returns a view of fs whose writes go through the queue q.
func (fs *FS) WithPending(q *writeback.Queue) *FS {
	v := *fs
	v.Pending = q
	return &v
}

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

// Caller identifies the process an operation is done for, for the reflog.
type Caller struct {
	Pid     int
	Program string
	NoLog   bool      // leave this operation out of the reflog (e.g. the truncation at open)
	At      time.Time // when it happened, if not now (a queued write: when the file was closed)
}

func parse(raw string) (uri.URI, error) {
	u, err := uri.Parse(raw)
	return u, classify(raw, err)
}

// parseSettled parses raw and, for a path in the tree, waits until the queued writes that
// touch it are applied.
func (fs *FS) parseSettled(ctx context.Context, raw string) (uri.URI, error) {
	u, err := parse(raw)
	if err != nil {
		return u, err
	}
	if err := fs.settle(ctx, u); err != nil {
		return u, err
	}
	return u, fs.failedWrite(u)
}

// failedWrite reports a queued change to u's path that could not be applied: the path then
// does not hold what its writer closed, and saying so beats serving the older content.
func (fs *FS) failedWrite(u uri.URI) error {
	if fs.Pending == nil || u.Namespace != uri.Repo {
		return nil
	}
	f, failed := fs.Pending.FailureAt(u.Path)
	if !failed {
		return nil
	}
	code := FailedPrecondition
	if c := Code(f.Code); c == ResourceExhausted || c == Unavailable {
		code = c
	}
	what := "the write closed at " + f.Op.Closed.Format(time.RFC3339)
	if f.Op.Kind == writeback.Move {
		what = "the rename from " + uri.Format(uri.Repo, f.Op.Path)
	}
	kept := ""
	if f.Op.Staged != "" {
		kept = "; its bytes are kept in " + f.Op.Staged
	}
	return errorf(code, u.Raw, "%s was not applied (%s)%s: `iptf writeback retry` applies it again, "+
		"`iptf writeback discard` drops it", what, strings.TrimPrefix(f.Why, string(f.Code)+": "), kept)
}

// supersede records that u's path was changed again: an earlier failed write to it no
// longer stands for its content.
func (fs *FS) supersede(u uri.URI) {
	if fs.Pending != nil && u.Namespace == uri.Repo {
		fs.Pending.Supersede(u.Path)
	}
}

// settleAll waits until every queued write is applied (raw names the operation in errors).
func (fs *FS) settleAll(ctx context.Context, raw string) error {
	return fs.settle(ctx, uri.URI{Namespace: uri.Repo, Path: "/", Raw: raw})
}

// settle waits until the queued writes touching u's path in the tree are applied.
func (fs *FS) settle(ctx context.Context, u uri.URI) error {
	if fs.Pending == nil || u.Namespace != uri.Repo && u.Namespace != uri.Meta {
		return nil
	}
	if err := fs.Pending.WaitFor(ctx, u.Path); err != nil {
		return errorf(Unavailable, u.Raw, "waiting for earlier writes to be applied: %s", err)
	}
	return nil
}

// node returns the IPLD node behind a content or repo URI.
func (fs *FS) node(ctx context.Context, u uri.URI) (ipld.Node, error) {
	switch u.Namespace {
	case uri.IPFS, uri.IPNS:
		p, err := path.NewPath(u.Path)
		if err != nil {
			return nil, errorf(InvalidArgument, u.Raw, "%s", err)
		}
		nd, err := fs.API.ResolveNode(ctx, p)
		if err != nil {
			return nil, fs.resolveError(ctx, u, p, err)
		}
		return nd, nil
	default:
		fsn, err := fs.lookup(u.Path)
		if err != nil {
			return nil, classify(u.Raw, err)
		}
		nd, err := fsn.GetNode()
		return nd, classify(u.Raw, err)
	}
}

// resolveError classifies the failure to resolve the content path p of u. Kubo's resolver
// reports a path that runs under a file in several ways, depending on how the file's blocks
// are laid out (go-ipld-prime's ErrWrongKind for a one-block file, ErrNoLink for a file of
// many), and a path into a dag-cbor or dag-json block fails like a missing name
// (ErrNotExists). So the ancestors are looked at, from the root down: the first that is no
// UnixFS directory gives the class (a file: FailedPrecondition; no UnixFS node at all:
// InvalidArgument). Otherwise the error's own class stands.
func (fs *FS) resolveError(ctx context.Context, u uri.URI, p path.Path, err error) error {
	if ctx.Err() != nil {
		// The name resolution kubo starts with reports a cut-short request as
		// namesys.ErrResolveFailed, without the context's error inside.
		return errorf(Unavailable, u.Raw, "content not retrievable in time (%s)", ctx.Err())
	}
	segs := p.Segments() // namespace, root, then the names below it
	for i := 2; i < len(segs); i++ {
		ancestor, perr := path.NewPathFromSegments(segs[:i]...)
		if perr != nil {
			break
		}
		nd, rerr := fs.API.ResolveNode(ctx, ancestor)
		if rerr != nil {
			break
		}
		typ, _, derr := describe(ancestor.String(), nd)
		if derr != nil {
			return errorf(InvalidArgument, u.Raw, "%s is no UnixFS directory: IPTF reads no paths inside it",
				uri.Format(u.Namespace, ancestor.String()))
		}
		if typ != protocol.TypeDirectory {
			return errorf(FailedPrecondition, u.Raw, "a parent is not a directory: %s is a file",
				uri.Format(u.Namespace, ancestor.String()))
		}
	}
	return classify(u.Raw, err)
}

// lookup returns what stands at an MFS path. mfs.Lookup reports a file on the way only in
// its text, so the walk is done here, where that case is errUnderFile.
func (fs *FS) lookup(p string) (mfs.FSNode, error) {
	var cur mfs.FSNode = fs.Node.FilesRoot.GetDirectory()
	for _, name := range strings.Split(strings.Trim(p, "/"), "/") {
		if name == "" {
			continue
		}
		dir, ok := cur.(*mfs.Directory)
		if !ok {
			return nil, errUnderFile
		}
		child, err := dir.Child(name)
		if err != nil {
			return nil, err
		}
		cur = child
	}
	return cur, nil
}

// fileNode returns the node of the file at u and its size; a directory is FailedPrecondition.
func (fs *FS) fileNode(ctx context.Context, u uri.URI) (ipld.Node, uint64, error) {
	nd, err := fs.node(ctx, u)
	if err != nil {
		return nil, 0, err
	}
	typ, size, err := describe(u.Raw, nd)
	if err != nil {
		return nil, 0, err
	}
	if typ != protocol.TypeFile {
		return nil, 0, errorf(FailedPrecondition, u.Raw, "is a directory")
	}
	return nd, size, nil
}

// describe gives a node's type and size.
func describe(raw string, nd ipld.Node) (string, uint64, error) {
	switch n := nd.(type) {
	case *dag.RawNode:
		return protocol.TypeFile, uint64(len(n.RawData())), nil
	case *dag.ProtoNode:
		fsn, err := unixfs.FSNodeFromBytes(n.Data())
		if err != nil {
			return "", 0, errorf(InvalidArgument, raw, "not a UnixFS node")
		}
		switch fsn.Type() {
		case unixfspb.Data_Directory, unixfspb.Data_HAMTShard:
			return protocol.TypeDirectory, 0, nil
		case unixfspb.Data_Symlink:
			return protocol.TypeFile, uint64(len(fsn.Data())), nil
		default:
			return protocol.TypeFile, fsn.FileSize(), nil
		}
	}
	return "", 0, errorf(InvalidArgument, raw, "not a UnixFS node (codec 0x%x)", nd.Cid().Prefix().Codec)
}

// Stat describes the file or directory at raw.
func (fs *FS) Stat(ctx context.Context, raw string) (*protocol.Stat, error) {
	u, err := fs.parseSettled(ctx, raw)
	if err != nil {
		return nil, err
	}
	if u.Namespace == uri.Meta {
		text, err := fs.metaJSON(ctx, u)
		if err != nil {
			return nil, err
		}
		return &protocol.Stat{Uri: u.String(), Type: protocol.TypeFile, Size: uint64(len(text))}, nil
	}
	nd, err := fs.node(ctx, u)
	if err != nil {
		return nil, err
	}
	typ, size, err := describe(u.Raw, nd)
	if err != nil {
		return nil, err
	}
	return &protocol.Stat{Uri: u.String(), Type: typ, Size: size, Cid: nd.Cid().String()}, nil
}

// List names the entries of the directory at raw.
func (fs *FS) List(ctx context.Context, raw string) ([]protocol.Entry, error) {
	u, err := fs.parseSettled(ctx, raw)
	if err != nil {
		return nil, err
	}
	if u.Namespace == uri.IPFS || u.Namespace == uri.IPNS {
		return fs.listContent(ctx, u)
	}
	fsn, err := fs.lookup(u.Path)
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	dir, ok := fsn.(*mfs.Directory)
	if !ok {
		return nil, errorf(FailedPrecondition, u.Raw, "not a directory")
	}
	listing, err := dir.List(ctx)
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	out := make([]protocol.Entry, 0, len(listing))
	for _, l := range listing {
		e := protocol.Entry{Name: l.Name, Type: protocol.TypeFile, Size: uint64(l.Size)}
		if mfs.NodeType(l.Type) == mfs.TDir {
			e.Type, e.Size = protocol.TypeDirectory, 0
		}
		out = append(out, e)
	}
	return out, nil
}

func (fs *FS) listContent(ctx context.Context, u uri.URI) ([]protocol.Entry, error) {
	nd, err := fs.node(ctx, u)
	if err != nil {
		return nil, err
	}
	if typ, _, err := describe(u.Raw, nd); err != nil {
		return nil, err
	} else if typ != protocol.TypeDirectory {
		return nil, errorf(FailedPrecondition, u.Raw, "not a directory")
	}
	ch := make(chan coreiface.DirEntry)
	errc := make(chan error, 1)
	go func() {
		errc <- fs.API.Unixfs().Ls(ctx, path.FromCid(nd.Cid()), ch, options.Unixfs.ResolveChildren(true))
	}()
	var out []protocol.Entry
	for e := range ch {
		entry := protocol.Entry{Name: e.Name, Type: protocol.TypeFile, Size: e.Size}
		if e.Type == coreiface.TDirectory {
			entry.Type, entry.Size = protocol.TypeDirectory, 0
		}
		out = append(out, entry)
	}
	if err := <-errc; err != nil {
		return nil, classify(u.Raw, err)
	}
	return out, nil
}

// Open maps the file at raw for reading and records the read in the reflog.
func (fs *FS) Open(ctx context.Context, raw string, who Caller) (*protocol.Opened, error) {
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
	m, err := fs.Blocks.Build(ctx, nd)
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	if m.Type == protocol.TypeDirectory {
		return nil, errorf(FailedPrecondition, u.Raw, "is a directory")
	}
	fs.record(reflog.Read, u, m.Cid, m.Size, who)
	if fs.Opened != nil {
		fs.Opened(nd.Cid(), spanBlocks(m))
	}
	return &protocol.Opened{FileMap: *m}, nil
}

// spanBlocks lists the blocks (or subtree roots) a file map's spans name.
func spanBlocks(m *protocol.FileMap) []cid.Cid {
	out := make([]cid.Cid, 0, len(m.Spans))
	for _, s := range m.Spans {
		if c, err := cid.Decode(s.Cid); err == nil {
			out = append(out, c)
		}
	}
	return out
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

func (fs *FS) record(op reflog.Op, u uri.URI, c string, size uint64, who Caller) {
	if fs.Reflog == nil || who.NoLog {
		return
	}
	err := fs.Reflog.Record(reflog.Entry{Time: who.At, Op: op, Path: u.String(), Cid: c, Size: size, Pid: who.Pid,
		Program: who.Program})
	if err != nil {
		log.Errorf("reflog: %s", err)
	}
}

func writable(u uri.URI) error {
	if !u.Writable() {
		return errorf(PermissionDenied, u.Raw, "read-only: content under iptf://%s/ never changes", u.Namespace)
	}
	return nil
}

// treePath parses a URI that must name a path in the writable tree itself (not a meta path,
// for which metaWhy says what to do instead).
func (fs *FS) treePath(ctx context.Context, raw, metaWhy string) (uri.URI, error) {
	u, err := parse(raw)
	if err != nil {
		return uri.URI{}, err
	}
	if err := fs.settle(ctx, u); err != nil {
		return uri.URI{}, err
	}
	if err := writable(u); err != nil {
		return uri.URI{}, err
	}
	if u.Namespace == uri.Meta {
		return uri.URI{}, errorf(PermissionDenied, u.Raw, "%s", metaWhy)
	}
	return u, nil
}

// parentDir returns the directory that holds u and u's name in it.
func (fs *FS) parentDir(u uri.URI) (*mfs.Directory, string, error) {
	if u.Path == "/" {
		return nil, "", errorf(FailedPrecondition, u.Raw, "is the root directory")
	}
	dirPath, name := gopath.Split(u.Path)
	fsn, err := fs.lookup(dirPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", errorf(NotFound, u.Raw, "parent directory does not exist")
		}
		return nil, "", classify(u.Raw, err)
	}
	dir, ok := fsn.(*mfs.Directory)
	if !ok {
		return nil, "", errorf(FailedPrecondition, u.Raw, "parent is not a directory")
	}
	return dir, name, nil
}

// existing returns the directory holding u, u's name in it and what stands there; NotFound
// if nothing does.
func (fs *FS) existing(u uri.URI) (*mfs.Directory, string, mfs.FSNode, error) {
	dir, name, err := fs.parentDir(u)
	if err != nil {
		return nil, "", nil, err
	}
	child, err := dir.Child(name)
	if err != nil {
		return nil, "", nil, classify(u.Raw, err)
	}
	return dir, name, child, nil
}

// place puts nd at the repo path of u, replacing a file there, and, with persist, persists
// the tree (else FlushDirs does, after a batch). The caller holds fs.tree.
func (fs *FS) place(ctx context.Context, u uri.URI, nd ipld.Node, persist bool) error {
	dir, name, err := fs.parentDir(u)
	if err != nil {
		return err
	}
	if old, err := dir.Child(name); err == nil {
		if old.Type() == mfs.TDir {
			return errorf(FailedPrecondition, u.Raw, "is a directory")
		}
		if err := dir.Unlink(name); err != nil {
			return classify(u.Raw, err)
		}
	}
	if err := dir.AddChild(name, nd); err != nil {
		return classify(u.Raw, err)
	}
	if !persist {
		return nil
	}
	_, err = mfs.FlushPath(ctx, fs.Node.FilesRoot, gopath.Dir(u.Path))
	return classify(u.Raw, err)
}

// FlushDirs persists the tree's directories dirs (tree paths) and their parents, once each:
// the end of a batch of queued writes placed without persisting (writeback.Flush).
func (fs *FS) FlushDirs(ctx context.Context, dirs []string) error {
	fs.tree.Lock()
	defer fs.tree.Unlock()
	done := map[string]bool{}
	for _, d := range dirs {
		if done[d] {
			continue
		}
		done[d] = true
		if _, err := mfs.FlushPath(ctx, fs.Node.FilesRoot, d); err != nil {
			return classify(uri.Format(uri.Repo, d), err)
		}
	}
	return nil
}

// Mkdir creates a directory; with parents, missing parents too and an existing directory is fine.
func (fs *FS) Mkdir(ctx context.Context, raw string, parents bool) error {
	u, err := fs.treePath(ctx, raw, "iptf://meta/ holds no directories of its own")
	if err != nil {
		return err
	}
	// Checked under the lock: mfs.Mkdir reports a file among the parents only in its text.
	fs.tree.Lock()
	defer fs.tree.Unlock()
	if fsn, err := fs.lookup(u.Path); err == nil {
		if fsn.Type() == mfs.TDir && parents {
			return nil
		}
		return errorf(AlreadyExists, u.Raw, "already exists")
	} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errUnderFile) {
		return classify(u.Raw, err)
	}
	if !parents {
		if _, _, err := fs.parentDir(u); err != nil {
			return err
		}
	} else {
		// Every existing ancestor must be a directory.
		for p := gopath.Dir(u.Path); p != "/"; p = gopath.Dir(p) {
			if fsn, err := fs.lookup(p); err == nil && fsn.Type() != mfs.TDir {
				return errorf(FailedPrecondition, u.Raw, "a parent is not a directory: %s is a file",
					uri.Format(uri.Repo, p))
			}
		}
	}
	err = mfs.Mkdir(fs.Node.FilesRoot, u.Path, mfs.MkdirOpts{Mkparents: parents, Flush: true})
	if err == nil {
		// mfs.Mkdir hands the new root to the republisher, which stores it up to a moment
		// later: wait until it is stored, so that a directory made survives a kill.
		_, err = mfs.FlushPath(ctx, fs.Node.FilesRoot, u.Path)
	}
	if err == nil {
		fs.supersede(u)
	}
	return classify(u.Raw, err)
}

// Removal kinds.
const (
	RemoveFile      = "file"
	RemoveDir       = "dir"
	RemoveRecursive = "recursive"
)

// Remove deletes a file, an empty directory, or a whole tree (kind), for a process.
func (fs *FS) Remove(ctx context.Context, raw, kind string, who Caller) error {
	u, err := fs.treePath(ctx, raw, "remove the file under iptf://repo/root/ instead")
	if err != nil {
		return err
	}
	fs.tree.Lock()
	defer fs.tree.Unlock()
	dir, name, child, err := fs.existing(u)
	if err != nil {
		return err
	}
	switch kind {
	case RemoveFile:
		if child.Type() == mfs.TDir {
			return errorf(FailedPrecondition, u.Raw, "is a directory")
		}
	case RemoveDir:
		sub, ok := child.(*mfs.Directory)
		if !ok {
			return errorf(FailedPrecondition, u.Raw, "not a directory")
		}
		names, err := sub.ListNames(ctx)
		if err != nil {
			return classify(u.Raw, err)
		}
		if len(names) > 0 {
			return errorf(FailedPrecondition, u.Raw, "directory not empty")
		}
	case RemoveRecursive:
	default:
		return errorf(InvalidArgument, u.Raw, "unknown removal kind %q", kind)
	}
	if err := fs.unlink(ctx, u, dir, name); err != nil {
		return err
	}
	fs.supersede(u)
	if fs.Reflog != nil {
		if err := fs.Reflog.RecordRemove(u.String(), who.Pid); err != nil {
			log.Errorf("reflog: %s", err)
		}
	}
	return nil
}

// unlink removes name from dir, which holds u, and persists the tree. The caller holds fs.tree.
func (fs *FS) unlink(ctx context.Context, u uri.URI, dir *mfs.Directory, name string) error {
	if err := dir.Unlink(name); err != nil {
		return classify(u.Raw, err)
	}
	_, err := mfs.FlushPath(ctx, fs.Node.FilesRoot, gopath.Dir(u.Path))
	return classify(u.Raw, err)
}

// Copy puts the file at src (any namespace) at dst in the writable tree, without moving bytes.
func (fs *FS) Copy(ctx context.Context, rawSrc, rawDst string, who Caller) (*protocol.Written, error) {
	src, err := fs.parseSettled(ctx, rawSrc)
	if err != nil {
		return nil, err
	}
	dst, err := parse(rawDst)
	if err != nil {
		return nil, err
	}
	if err := fs.settle(ctx, dst); err != nil {
		return nil, err
	}
	if dst.Namespace != uri.Repo {
		return nil, errorf(PermissionDenied, dst.Raw, "copies go under iptf://repo/root/")
	}
	if src.Namespace == uri.Meta {
		return nil, errorf(InvalidArgument, src.Raw, "copy the file under iptf://repo/root/ instead")
	}
	nd, size, err := fs.fileNode(ctx, src)
	if err != nil {
		return nil, err
	}
	fs.tree.Lock()
	err = fs.place(ctx, dst, nd, true)
	fs.tree.Unlock()
	if err != nil {
		return nil, err
	}
	fs.supersede(dst)
	fs.record(reflog.Write, dst, nd.Cid().String(), size, who)
	return &protocol.Written{Uri: dst.String(), Cid: nd.Cid().String(), Size: size}, nil
}

// meta describes a repo path: its CID now, and its path under the node's own IPNS name.
type meta struct {
	IpfsPath string
	IpnsPath string
}

func (fs *FS) metaJSON(ctx context.Context, u uri.URI) ([]byte, error) {
	fsn, err := fs.lookup(u.Path)
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	nd, err := fsn.GetNode()
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	ipns := uri.Scheme + "ipns/" + fs.Node.Identity.String()
	if u.Path != "/" {
		ipns += u.Path
	}
	return json.Marshal(meta{IpfsPath: uri.Scheme + "ipfs/" + nd.Cid().String(), IpnsPath: ipns})
}

// metaCommand runs a command written to a meta URI.
func (fs *FS) metaCommand(ctx context.Context, u uri.URI, staged staging.File) (*protocol.Written, error) {
	if _, err := fs.lookup(u.Path); err != nil {
		return nil, classify(u.Raw, err) // a command names the tree at an existing path
	}
	body, err := readSmall(staged)
	if err != nil {
		return nil, errorf(InvalidArgument, u.Raw, "%s", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return &protocol.Written{Uri: u.String()}, nil // opening for write stages nothing yet
	}
	var cmd struct {
		Command string `json:"command"`
	}
	if err := json.Unmarshal(body, &cmd); err != nil {
		return nil, errorf(InvalidArgument, u.Raw, `write JSON such as {"command": "publish"}`)
	}
	if cmd.Command != "publish" {
		return nil, errorf(InvalidArgument, u.Raw, "unknown command %q (known: publish)", cmd.Command)
	}
	fs.tree.Lock()
	root, err := mfs.FlushPath(ctx, fs.Node.FilesRoot, "/")
	fs.tree.Unlock()
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	name, err := fs.API.Name().Publish(ctx, path.FromCid(root.Cid()), options.Name.AllowOffline(true))
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	return &protocol.Written{Uri: u.String(), Cid: root.Cid().String(), Name: uri.Scheme + "ipns/" + name.String()}, nil
}

func readSmall(file staging.File) ([]byte, error) {
	f, _, err := file.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64*1024))
}
