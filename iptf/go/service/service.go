// Package service is IPTF's state for one kubo node: its filesystem (with the block-map
// locator), fetcher, write-back queue, reflog, peer guard and activity clock, made once per
// node. A daemon's node gets its Service when it starts (Plugin); a node built for one
// command without a daemon gets one when the command first needs it. Commands reach it from
// their environment (Of, Running).
package service

import (
	"context"
	"fmt"
	"sync"

	bsmsg "github.com/ipfs/boxo/bitswap/message"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	logging "github.com/ipfs/go-log/v2"
	"github.com/ipfs/kubo/commands"
	"github.com/ipfs/kubo/core"
	coreiface "github.com/ipfs/kubo/core/coreiface"
	"github.com/libp2p/go-libp2p/core/peer"

	"iptf.io/node/cache"
	"iptf.io/node/fetch"
	"iptf.io/node/fsapi"
	"iptf.io/node/lifecycle"
	"iptf.io/node/peerguard"
	"iptf.io/node/reflog"
	"iptf.io/node/repodir"
	"iptf.io/node/retention"
	"iptf.io/node/writeback"
)

var log = logging.Logger("iptf/service")

// Service holds what IPTF keeps for one node.
type Service struct {
	Node      *core.IpfsNode
	Repo      string // the repo's path
	Reflog    *reflog.Log
	Fetcher   *fetch.Fetcher
	Guard     *peerguard.Guard // installed in the node's bitswap when the node was built
	Activity  *lifecycle.Activity
	Retention *retention.Keeper
	// Cache bounds the fetched content a daemon's repo holds (nil without a daemon, or when
	// its limit could not be read: CacheError says why).
	Cache      *cache.Cache
	CacheError error

	fs *fsapi.FS // the node's filesystem; it applies queued writes, requests get views
	// ctx is the service's lifetime: queued writes are applied and the cache evicts under it,
	// not under a request's. It ends (stop) before the node closes its repo; the node's own
	// context ends only after, too late for work that writes to the repo.
	ctx    context.Context
	cancel context.CancelFunc
	tasks  sync.WaitGroup // the background work that runs under ctx

	mu    sync.Mutex
	queue *writeback.Queue // see Queue
}

// newService makes the service of node, whose bitswap (if any) reports to guard.
func newService(node *core.IpfsNode, guard *peerguard.Guard) (*Service, error) {
	repo := node.Repo.Path()
	// The filesystem runs kubo's add on the node through an environment of its own, which
	// outlives every request.
	env := &commands.Context{ConfigRoot: repo, ConstructNode: func() (*core.IpfsNode, error) { return node, nil }}
	api, err := env.GetAPI() // fills env's node and API now, before concurrent commands read them
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(node.Context())
	s := &Service{
		Node:      node,
		Repo:      repo,
		Reflog:    reflog.Open(repo),
		Fetcher:   fetch.New(node, guard),
		Guard:     guard,
		Activity:  lifecycle.NewActivity(),
		Retention: retention.NewKeeper(node),
		ctx:       ctx,
		cancel:    cancel,
	}
	s.fs = fsapi.New(node, api, env, repo, s.Fetcher, s.Reflog)
	return s, nil
}

// FS returns the node's filesystem as a request sees it: resolving through api (the
// request's, which may be offline) and, on a daemon, writing through the write-back queue.
// All the views share one tree lock.
func (s *Service) FS(api coreiface.CoreAPI) (*fsapi.FS, error) {
	fs := s.fs.WithAPI(api)
	if !s.Node.IsDaemon { // a command run without a daemon ends with its process: write at once
		return fs, nil
	}
	q, err := s.Queue()
	if err != nil {
		return nil, err
	}
	return fs.WithPending(q), nil
}

// Queue returns the node's write-back queue, started (and the journal a stopped node left
// replayed) on first use; a start that failed (a full disk, say) is tried again next time.
func (s *Service) Queue() (*writeback.Queue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queue != nil {
		return s.queue, nil
	}
	busy := func() func() { s.Activity.Begin(); return s.Activity.End }
	q, err := writeback.Open(s.ctx, s.fs.Staging, s.fs.Apply, busy)
	if err != nil {
		return nil, fmt.Errorf("starting the write-back queue: %w", err)
	}
	q.BatchWrites(s.fs.FlushDirs)
	s.queue = q
	return q, nil
}

// stop ends the service's background work and waits (at most until ctx ends) until none
// runs: no queued write is being applied and no eviction round is under way. What is left
// in the write-back queue stays in its journal for the node's next run.
func (s *Service) stop(ctx context.Context) {
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.tasks.Wait()
		s.mu.Lock()
		q := s.queue
		s.mu.Unlock()
		if q != nil {
			<-q.Stopped()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		log.Errorf("stopping: background work still running after %s", ctx.Err())
	}
}

// ForgetBlockMaps drops the block maps the filesystem keeps: call it once blocks may have
// left the blockstore (garbage collection, block rm).
func (s *Service) ForgetBlockMaps() { s.fs.Blocks.Forget() }

// startDaemon does what only a daemon's node needs: the guard watches the node's peers, the
// cache bounds what it fetches, and a node started on demand stops once idle.
func (s *Service) startDaemon() {
	var wants func() []cid.Cid
	if s.Node.Bitswap != nil {
		wants = s.Node.Bitswap.GetWantlist
	}
	s.Guard.Watch(s.Node.PeerHost, wants, s.Node.Blockstore)
	// A node sending blocks to a peer that reads from it is not idle: stopping would cut
	// that peer's source (a colleague streaming a dataset, the other workers of a swarm).
	s.Guard.OnServed(func(peer.ID) { s.Activity.Touch() })
	s.startCache()
	go lifecycle.StopWhenIdle(s.ctx, s.Activity)
}

// startCache starts evicting beyond the repo's cache limit; a limit that cannot be read
// (a malformed IPTF_CACHE_MAX, say) leaves the cache off and says so in CacheError.
func (s *Service) startCache() {
	used, err := ds.DiskUsage(s.ctx, s.Node.Repo.Datastore())
	if err != nil {
		s.CacheError = err
		return
	}
	limit, err := cache.LimitOf(s.Node, used)
	if err != nil {
		s.CacheError = err
		log.Errorf("the cache is off: %s", err)
		return
	}
	keep := func(ctx context.Context) error {
		_, err := s.Retention.Keep(ctx, s.Reflog)
		return err
	}
	c, err := cache.New(s.Node, limit, repodir.Fetched(s.Repo), keep, s.ForgetBlockMaps)
	if err != nil {
		s.CacheError = err
		log.Errorf("the cache is off: %s", err)
		return
	}
	s.Cache = c
	s.Fetcher.Used, s.Fetcher.Hold = c.Used, c.Hold
	s.Guard.Subscribe(func(_ peer.ID, msg bsmsg.BitSwapMessage) { c.Received(msg.Blocks()) })
	s.fs.Opened = s.Cache.Opened
	s.tasks.Go(func() { s.Cache.Run(s.ctx) })
}
