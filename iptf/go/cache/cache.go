// Package cache bounds what content fetched from peers occupies in a repo. Only blocks the
// node fetched are cache (it records them, across runs): what was added or written here is
// never evicted, nor what the user keeps: pinned content, the writable tree and the other MFS
// roots the node registers (the reflog's retention root among them, see package retention).
// When the repo holds more cache than the limit, the least recently used blocks are removed,
// a round at a time, while reads go on; a read of an evicted block fetches it again (readers
// that mapped its file find the file gone and ask the node).
//
// Recency is what this node saw since it started: when each block was last fetched or read
// through the node, or named by the map of a file opened. Blocks it has no date for (fetched
// by an earlier run) go first. Blocks the node
// is reading (a window of a range it sends) are held, and not evicted until it is done.
package cache

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ipfs/boxo/blockservice"
	offline "github.com/ipfs/boxo/exchange/offline"
	dag "github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	ipld "github.com/ipfs/go-ipld-format"
	logging "github.com/ipfs/go-log/v2"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/core/corerepo"
	"github.com/ipfs/kubo/gc"
)

var log = logging.Logger("iptf/cache")

const (
	// checkEvery is how often the repo's size is looked at between fetches.
	checkEvery = 500 * time.Millisecond
	// minCheckGap spaces the looks that fetches ask for (a message from a peer each).
	minCheckGap = 50 * time.Millisecond
	// retryAfter spaces rounds that failed (a pinned DAG with a block missing, say).
	retryAfter = time.Minute
	// lowWater is the share of the limit a round evicts down to, so that rounds (each marks
	// what the user keeps and lists the blocks) come once per quarter of the limit fetched.
	lowWater = 0.75
)

// Stats is what the cache did and found in its last round.
type Stats struct {
	Limit     Limit
	Used      uint64 // bytes of the repo's datastore now
	Kept      uint64 // bytes of blocks kept (the user's, and all not fetched), at the last round
	Evictable uint64 // bytes of the other blocks, at the last round (after evicting)
	Evicted   uint64 // bytes evicted since the node started
	Rounds    int
	LastRound time.Time
}

// Cache evicts a node's cached blocks beyond its limit.
type Cache struct {
	node *core.IpfsNode
	// keep, when set, runs before each round: it registers what else the collector keeps
	// (the reflog's content).
	keep func(context.Context) error
	// forget runs after a round evicted something: block maps may name removed files.
	forget func()
	usage  func(context.Context) (uint64, error)

	mu       sync.Mutex
	limit    Limit
	fetched  *fetchedSet          // blocks fetched from peers: the only ones evicted
	used     map[string]time.Time // block (by multihash) → when this node last fetched or read it
	held     map[string]int       // blocks being read (by multihash): how many readers hold each
	kickc    chan struct{}
	stats    Stats
	baseline uint64 // datastore bytes at the last round that were not evictable content
}

// New returns the cache of node with the given limit, recording the blocks it fetches in the
// file at fetched (see repodir.Fetched); keep and forget may be nil. It evicts nothing until Run.
func New(node *core.IpfsNode, limit Limit, fetched string, keep func(context.Context) error, forget func()) (*Cache, error) {
	set, err := loadFetched(fetched)
	if err != nil {
		return nil, err
	}
	return &Cache{
		node: node, keep: keep, forget: forget, limit: limit, fetched: set,
		usage: func(ctx context.Context) (uint64, error) {
			return ds.DiskUsage(ctx, node.Repo.Datastore())
		},
		used: map[string]time.Time{}, held: map[string]int{},
		kickc: make(chan struct{}, 1),
	}, nil
}

// Received records the blocks of a message from a peer that the repo does not hold yet (they
// are about to be stored): cache from now on, whoever asked for them (a read, pin add, get).
// It runs on bitswap's receiving goroutine.
func (c *Cache) Received(blks []blocks.Block) {
	var fresh []cid.Cid
	for _, b := range blks {
		if has, err := c.node.Blockstore.Has(c.node.Context(), b.Cid()); err == nil && !has {
			fresh = append(fresh, b.Cid())
		}
	}
	if len(fresh) > 0 {
		c.Fetched(fresh)
	}
}

// Fetched records blocks this node fetched from peers: cache from now on.
func (c *Cache) Fetched(cids []cid.Cid) {
	keys := make([]string, len(cids))
	for i, k := range cids {
		keys[i] = string(k.Hash())
	}
	c.mu.Lock()
	c.fetched.add(keys)
	c.mu.Unlock()
	c.kick() // the repo grew: look at its size soon
}

// Used records blocks this node fetched or read now.
func (c *Cache) Used(cids []cid.Cid) {
	now := time.Now()
	c.mu.Lock()
	for _, k := range cids {
		c.used[string(k.Hash())] = now
	}
	c.mu.Unlock()
}

// Hold keeps blocks from eviction until release is called: the node is reading them (a
// window of a range it sends). A block held by several readers stays until all release it.
func (c *Cache) Hold(cids []cid.Cid) (release func()) {
	keys := make([]string, len(cids))
	c.mu.Lock()
	for i, k := range cids {
		keys[i] = string(k.Hash())
		c.held[keys[i]]++
	}
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, k := range keys {
				if c.held[k]--; c.held[k] <= 0 {
					delete(c.held, k)
				}
			}
		})
	}
}

// Opened records that a file was opened: its root and the blocks its map names were used now
// (a reader then reads the local ones straight from their files, without the node).
func (c *Cache) Opened(root cid.Cid, blocks []cid.Cid) {
	c.Used(append([]cid.Cid{root}, blocks...))
}

// Released says that content may have stopped being kept (unpinned, removed from the tree,
// its reflog entries expired): the next look counts what is evictable again.
func (c *Cache) Released() {
	c.mu.Lock()
	c.baseline = 0
	c.mu.Unlock()
	c.kick()
}

func (c *Cache) kick() {
	select {
	case c.kickc <- struct{}{}:
	default:
	}
}

// Run evicts whenever the repo holds more evictable content than the limit, until ctx ends.
// Until its first round it counts the whole repo as evictable (a round then learns better).
func (c *Cache) Run(ctx context.Context) {
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	var retryAt, checked time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kickc:
			// A look at most every minCheckGap, but never later: a late round would find the
			// repo far over the limit and evict into the window being read ahead.
			if wait := minCheckGap - time.Since(checked); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return
				}
			}
		}
		checked = time.Now()
		if checked.Before(retryAt) || !c.over(ctx) {
			continue
		}
		if _, err := c.Round(ctx, false); err != nil && ctx.Err() == nil {
			log.Errorf("cache: %s (trying again in %s)", err, retryAfter)
			retryAt = time.Now().Add(retryAfter)
		}
	}
}

// over reports whether the repo has grown past what the last round left plus the limit.
func (c *Cache) over(ctx context.Context) bool {
	used, err := c.usage(ctx)
	if err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Used = used
	return used > c.baseline+c.limit.Bytes
}

// Stats returns what the cache knows (Used as of now).
func (c *Cache) Stats(ctx context.Context) Stats {
	used, _ := c.usage(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Limit, s.Used = c.limit, used
	return s
}

// block is an evictable block.
type block struct {
	key  cid.Cid
	size uint64
	used time.Time
}

// Round marks what the user keeps and, unless dryRun, evicts the least recently used of
// the other blocks until they fit in lowWater of the limit. It returns the round's figures.
func (c *Cache) Round(ctx context.Context, dryRun bool) (Stats, error) {
	began := time.Now()
	if c.keep != nil {
		if err := c.keep(ctx); err != nil {
			return Stats{}, fmt.Errorf("marking what the reflog keeps: %w", err)
		}
	}
	bs := c.node.Blockstore
	unlock := bs.GCLock(ctx) // no add or pin links new blocks while the round runs
	defer unlock.Unlock(ctx)
	before, err := c.usage(ctx)
	if err != nil {
		return Stats{}, err
	}
	locked := time.Now()
	dags := dag.NewDAGService(blockservice.New(bs, offline.Exchange(bs)))
	kept, err := c.kept(ctx, dags)
	if err != nil {
		return Stats{}, err
	}
	marked := time.Now()

	keys, err := bs.AllKeysChan(ctx)
	if err != nil {
		return Stats{}, err
	}
	c.mu.Lock()
	fetched := make(map[string]bool, len(c.fetched.keys))
	for k := range c.fetched.keys {
		fetched[k] = true
	}
	used := make(map[string]time.Time, len(c.used))
	for k, t := range c.used {
		used[k] = t
	}
	c.mu.Unlock()
	now := time.Now()
	var candidates []block
	var keptBytes, evictable uint64
	for k := range keys {
		size, err := bs.GetSize(ctx, k)
		if err != nil {
			continue // removed meanwhile
		}
		if kept[string(k.Hash())] || !fetched[string(k.Hash())] {
			keptBytes += uint64(size)
			continue
		}
		evictable += uint64(size)
		candidates = append(candidates, block{key: k, size: uint64(size), used: used[string(k.Hash())]})
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].used.Before(candidates[j].used) })

	c.mu.Lock()
	limit := c.limit.Bytes
	c.mu.Unlock()
	target := uint64(float64(limit) * lowWater)
	var evicted uint64
	var gone []string
	for _, b := range candidates {
		if dryRun || evictable <= target || ctx.Err() != nil {
			break
		}
		if deleted, err := c.deleteUnlessHeld(ctx, b.key); err != nil {
			log.Warnf("cache: evicting %s: %s", b.key, err)
			continue
		} else if !deleted {
			continue
		}
		evictable -= b.size
		evicted += b.size
		gone = append(gone, string(b.key.Hash()))
	}
	after, err := c.usage(ctx)
	if err != nil {
		after = before - min(before, evicted)
	}

	c.mu.Lock()
	for _, k := range gone {
		delete(c.used, k)
	}
	if len(gone) > 0 {
		c.fetched.remove(gone)
		if err := c.fetched.rewrite(); err != nil {
			log.Warnf("cache: rewriting %s: %s", c.fetched.path, err)
		}
	}
	if !dryRun {
		c.stats.Evicted += evicted
		c.stats.Rounds++
		c.stats.LastRound = now
		c.baseline = after - min(after, evictable)
	}
	c.stats.Kept, c.stats.Evictable, c.stats.Used = keptBytes, evictable, after
	s := c.stats
	s.Limit = c.limit
	c.mu.Unlock()
	if evicted > 0 {
		log.Infof("cache: evicted %d bytes; %d evictable bytes left (limit %d), %d kept; took %s (reflog %s, marking %s)",
			evicted, evictable, limit, keptBytes, time.Since(began), locked.Sub(began), marked.Sub(locked))
		if c.forget != nil {
			c.forget()
		}
	}
	return s, nil
}

// deleteUnlessHeld deletes a block no reader holds now. The check and the deletion are one
// step for Hold: a reader holds a range's blocks before it looks for the missing ones, so it
// either keeps a block or finds it gone and fetches it again.
func (c *Cache) deleteUnlessHeld(ctx context.Context, k cid.Cid) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[string(k.Hash())] > 0 {
		return false, nil
	}
	return true, c.node.Blockstore.DeleteBlock(ctx, k)
}

// kept is the set of blocks (by multihash) the user keeps: what the collector keeps.
func (c *Cache) kept(ctx context.Context, dags ipld.DAGService) (map[string]bool, error) {
	roots, err := corerepo.BestEffortRoots(c.node)
	if err != nil {
		return nil, err
	}
	output := make(chan gc.Result)
	done := make(chan struct{})
	var problems []error
	go func() {
		defer close(done)
		for r := range output {
			if r.Error != nil {
				problems = append(problems, r.Error)
			}
		}
	}()
	set, err := gc.ColoredSet(ctx, c.node.Pinning, dags, roots, output)
	close(output)
	<-done
	if err != nil {
		return nil, fmt.Errorf("marking what the repo keeps: %w (%v)", err, problems)
	}
	kept := make(map[string]bool, set.Len())
	_ = set.ForEach(func(k cid.Cid) error {
		kept[string(k.Hash())] = true
		return nil
	})
	return kept, nil
}
