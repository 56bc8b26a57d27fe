package iptfcmd

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	dag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/go-cid"
	cmds "github.com/ipfs/go-ipfs-cmds"
	ipld "github.com/ipfs/go-ipld-format"
	logging "github.com/ipfs/go-log/v2"
	"github.com/ipfs/kubo/core/commands/cmdenv"
	"github.com/ipfs/kubo/core/commands/cmdutils"
	pincmd "github.com/ipfs/kubo/core/commands/pin"
	coreiface "github.com/ipfs/kubo/core/coreiface"

	"iptf.io/node/fetch"
	"iptf.io/node/fsapi"
)

var log = logging.Logger("iptf/cmd")

// pinWindowsInFlight is how many windows of one file are fetched at once: the next one's
// wants go out while the current one's last blocks arrive.
const pinWindowsInFlight = 2

// PinThroughFetcher makes kubo's recursive `pin add` bring what it pins through the node's
// fetch engine first: each file's bytes window by window from every connected peer that holds
// them, as reads do, and folders' blocks in one session per folder. The blocks are held from
// the cache's eviction until kubo's walk of the DAG, which then finds them all local, has
// pinned them. With --progress, the fetch reports as kubo's walk does ("Fetched/Processed N
// nodes"), with the rate and the peers the blocks come from. Content that is not UnixFS, and
// whatever the engine could not bring, is left to kubo's walk.
func PinThroughFetcher(c *cmds.Command) {
	kuboRun := c.Run
	c.Type = pinProgress{}
	c.PostRun = cmds.PostRunMap{cmds.CLI: pinPostRun}
	c.Run = throughEngine(kuboRun, func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment,
		fs *fsapi.FS) error {
		if recursive, set := req.Options["recursive"].(bool); set && !recursive {
			return kuboRun(req, res, env)
		}
		api, err := cmdenv.GetApi(env, req)
		if err != nil {
			return kuboRun(req, res, env)
		}
		w := &pinFetch{ctx: req.Context, api: api, fetcher: fs.Fetcher}
		if nd, err := cmdenv.GetNode(env); err == nil {
			w.senders = newSenders(nd)
		}
		defer w.release()
		showProgress, _ := req.Options["progress"].(bool)
		stop := w.reportTo(res, showProgress)
		for _, arg := range req.Arguments {
			p, err := cmdutils.PathOrCidPath(arg)
			if err != nil {
				break // kubo's run says why
			}
			stop := fs.Fetcher.RootAlongside(req.Context, p)
			nd, err := api.ResolveNode(req.Context, p)
			stop()
			if err != nil {
				break
			}
			w.count(nd)
			if err := w.node(nd); err != nil {
				log.Debugf("pin add %s: the fetch engine stopped (%s); kubo's walk goes on", arg, err)
				break
			}
		}
		if err := stop(); err != nil {
			return err
		}
		return kuboRun(req, res, env)
	})
}

// pinFetch is one `pin add`'s fetch through the engine.
type pinFetch struct {
	ctx     context.Context
	api     coreiface.CoreAPI
	fetcher *fetch.Fetcher

	nodes   atomic.Int64 // blocks made local or found so
	bytes   atomic.Int64 // their file bytes, for files
	senders *senders     // the peers blocks come from (nil: none counted)

	mu       sync.Mutex
	releases []func()
}

func (w *pinFetch) count(nd ipld.Node) {
	w.nodes.Add(1)
	if _, raw := nd.(*dag.RawNode); raw {
		w.bytes.Add(int64(len(nd.RawData())))
	}
}

func (w *pinFetch) hold(release func()) {
	w.mu.Lock()
	w.releases = append(w.releases, release)
	w.mu.Unlock()
}

func (w *pinFetch) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.releases {
		r()
	}
	w.releases = nil
}

// reportTo emits the progress every half second while the fetch runs, when asked; the
// returned stop ends that and says whether the client went away.
func (w *pinFetch) reportTo(res cmds.ResponseEmitter, showProgress bool) (stop func() error) {
	if !showProgress {
		return func() error { return nil }
	}
	done := make(chan struct{})
	failed := make(chan error, 1)
	go func() {
		ticker := time.NewTicker(500 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				failed <- nil
				return
			case <-ticker.C:
				out := &pinProgress{AddPinOutput: pincmd.AddPinOutput{Progress: int(w.nodes.Load()), Bytes: uint64(w.bytes.Load())},
					Peers: w.senders.count()}
				if err := res.Emit(out); err != nil {
					failed <- err
					return
				}
			}
		}
	}()
	return func() error {
		close(done)
		return <-failed
	}
}

// node makes what nd roots local: a file's bytes through the engine, a folder's entries one
// by one. Other content stays for kubo's walk.
func (w *pinFetch) node(nd ipld.Node) error {
	pn, ok := nd.(*dag.ProtoNode)
	if !ok {
		return nil
	}
	fsn, err := unixfs.FSNodeFromBytes(pn.Data())
	if err != nil {
		return nil
	}
	switch fsn.Type() {
	case unixfs.TFile, unixfs.TRaw:
		return w.file(nd, fsn.FileSize())
	case unixfs.TDirectory, unixfs.THAMTShard:
		return w.children(pn)
	}
	return nil
}

// file fetches the file's bytes in windows, pinWindowsInFlight at a time.
func (w *pinFetch) file(nd ipld.Node, size uint64) error {
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	slots := make(chan struct{}, pinWindowsInFlight)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for off := uint64(0); off < size && ctx.Err() == nil; off += fetch.DefaultWindow {
		length := min(uint64(fetch.DefaultWindow), size-off)
		slots <- struct{}{}
		wg.Add(1)
		go func(off, length uint64) {
			defer func() { <-slots; wg.Done() }()
			blocks, release, err := w.fetcher.Keep(ctx, nd, off, length)
			w.hold(release)
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				cancel()
				return
			}
			w.nodes.Add(int64(blocks))
			w.bytes.Add(int64(length))
		}(off, length)
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return w.ctx.Err()
	}
}

// children fetches a folder's links (entries, or a sharded folder's buckets) in one session,
// then what each of them roots.
func (w *pinFetch) children(pn *dag.ProtoNode) error {
	links := pn.Links()
	cids := make([]cid.Cid, len(links))
	for i, l := range links {
		cids[i] = l.Cid
	}
	if w.fetcher.Hold != nil {
		w.hold(w.fetcher.Hold(cids))
	}
	got := make(map[cid.Cid]ipld.Node, len(cids))
	for opt := range w.api.Dag().GetMany(w.ctx, cids) {
		if opt.Err != nil {
			return opt.Err
		}
		got[opt.Node.Cid()] = opt.Node
		w.count(opt.Node)
	}
	for _, c := range cids {
		nd, ok := got[c]
		if !ok {
			continue
		}
		if err := w.node(nd); err != nil {
			return err
		}
	}
	return nil
}
