package cache

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	pin "github.com/ipfs/boxo/pinning/pinner"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/core"
	mh "github.com/multiformats/go-multihash"
)

// testCache is a cache over a real kubo node, offline, with its repo in memory; its usage is
// the bytes of the blocks it holds (an in-memory datastore reports none).
func testCache(t *testing.T, limit uint64) (*Cache, *core.IpfsNode) {
	t.Helper()
	n, err := core.NewNode(context.Background(), &core.BuildCfg{Online: false})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	c, err := New(n, Limit{Bytes: limit, From: "test"}, filepath.Join(t.TempDir(), "fetched.mh"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.usage = func(ctx context.Context) (uint64, error) {
		keys, err := n.Blockstore.AllKeysChan(ctx)
		if err != nil {
			return 0, err
		}
		var total uint64
		for k := range keys {
			size, _ := n.Blockstore.GetSize(ctx, k)
			total += uint64(size)
		}
		return total, nil
	}
	return c, n
}

// put stores a raw block of size bytes made from seed.
func put(t *testing.T, n *core.IpfsNode, seed byte, size int) cid.Cid {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = seed + byte(i)
	}
	sum, _ := mh.Sum(data, mh.SHA2_256, -1)
	b, _ := blocks.NewBlockWithCid(data, cid.NewCidV1(cid.Raw, sum))
	if err := n.Blockstore.Put(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b.Cid()
}

func has(t *testing.T, n *core.IpfsNode, c cid.Cid) bool {
	t.Helper()
	ok, err := n.Blockstore.Has(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// The least recently used fetched blocks go first, down to 75% of the limit; pinned blocks,
// held ones and blocks not fetched (made here) stay whatever their age.
func TestRoundEvictsLeastRecentlyUsedAndKeepsPinnedAndHeld(t *testing.T) {
	ctx := context.Background()
	c, n := testCache(t, 280)
	never := put(t, n, 0, 100) // fetched, but not used in this run (an earlier run fetched it)
	old, recent := put(t, n, 1, 100), put(t, n, 2, 100)
	made := put(t, n, 4, 1000) // added here: not cache
	c.Fetched([]cid.Cid{never, old, recent})
	c.Used([]cid.Cid{old})
	time.Sleep(5 * time.Millisecond)
	c.Used([]cid.Cid{recent})
	pinned := put(t, n, 3, 400)
	if err := n.Pinning.PinWithMode(ctx, pinned, pin.Direct, "kept"); err != nil {
		t.Fatal(err)
	}
	if err := n.Pinning.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	st, err := c.Round(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if has(t, n, never) || !has(t, n, old) || !has(t, n, recent) || !has(t, n, pinned) || !has(t, n, made) {
		t.Fatalf("after a round over 300 evictable bytes (limit 280): never %v old %v recent %v pinned %v made %v",
			has(t, n, never), has(t, n, old), has(t, n, recent), has(t, n, pinned), has(t, n, made))
	}
	if st.Evicted != 100 || st.Evictable != 200 || st.Kept < 1400 {
		t.Fatalf("stats %+v", st)
	}

	// A held block stays even when it is the oldest and the limit wants everything gone.
	release := c.Hold([]cid.Cid{old})
	c.mu.Lock()
	c.limit.Bytes = 10
	c.mu.Unlock()
	if _, err := c.Round(ctx, false); err != nil {
		t.Fatal(err)
	}
	if !has(t, n, old) || has(t, n, recent) || !has(t, n, pinned) {
		t.Fatalf("held old %v, recent %v, pinned %v", has(t, n, old), has(t, n, recent), has(t, n, pinned))
	}
	release()
	release() // releasing twice counts once
	if _, err := c.Round(ctx, false); err != nil {
		t.Fatal(err)
	}
	if has(t, n, old) || !has(t, n, pinned) || !has(t, n, made) {
		t.Fatalf("released old %v, pinned %v, made %v", has(t, n, old), has(t, n, pinned), has(t, n, made))
	}
}

// What was fetched stays cache across runs: a new cache over the same record evicts it.
func TestFetchedBlocksStayCacheAcrossRuns(t *testing.T) {
	ctx := context.Background()
	c, n := testCache(t, 10)
	fetched, made := put(t, n, 1, 100), put(t, n, 2, 100)
	c.Fetched([]cid.Cid{fetched})
	next, err := New(n, Limit{Bytes: 10}, c.fetched.path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	next.usage = c.usage
	if _, err := next.Round(ctx, false); err != nil {
		t.Fatal(err)
	}
	if has(t, n, fetched) || !has(t, n, made) {
		t.Fatalf("next run: fetched %v (want evicted), made %v (want kept)", has(t, n, fetched), has(t, n, made))
	}
	if len(next.fetched.keys) != 0 {
		t.Fatalf("evicted blocks still recorded: %d", len(next.fetched.keys))
	}
}

// A dry run counts and evicts nothing.
func TestDryRunEvictsNothing(t *testing.T) {
	c, n := testCache(t, 10)
	b := put(t, n, 7, 100)
	c.Fetched([]cid.Cid{b})
	st, err := c.Round(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !has(t, n, b) || st.Evictable != 100 || st.Evicted != 0 || st.Rounds != 0 {
		t.Fatalf("dry run: has %v, stats %+v", has(t, n, b), st)
	}
}
