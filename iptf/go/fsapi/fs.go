// Package fsapi is the filesystem the TensorFlow plugin sees: stat, list, open (where the
// bytes are), write, mkdir, remove, move, copy and glob over iptf:// URIs, with errors
// classified the way TensorFlow classifies them.
//
// The files split it by operation: fs.go (the object), lookup.go (stat, ls), read.go, settle.go
// (waiting for queued writes), writes.go and append.go, tree.go (mkdir, rm, cp), meta.go, glob.go
// and errors.go.
package fsapi

import (
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	cmds "github.com/ipfs/go-ipfs-cmds"
	"github.com/ipfs/kubo/core"
	coreiface "github.com/ipfs/kubo/core/coreiface"

	"iptf.io/node/blockmap"
	"iptf.io/node/extend"
	"iptf.io/node/fetch"
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
	// Ahead keeps an empty spare ready in Staging for the next writer.
	Ahead *staging.Ahead
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
		Ahead:    staging.NewAhead(repodir.Staging(repo)),
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
