package blockmap

import (
	"container/list"
	"sync"

	"github.com/ipfs/go-cid"
)

// A Builder keeps the maps of files whose every byte is in a local block file, by root CID,
// so that a file opened again (the next epoch) needs no walk over its blocks. A block file
// only goes away when garbage collection (or `block rm`) removes its block; call Forget after
// that. A reader that still finds a block file gone asks the node for those bytes, exactly as
// when a block is collected while it reads, and a block fetched again lands at the same path.
const cachedSpans = 1 << 17 // about 30 MB, 32 GiB of 256 KiB blocks

type mapCache struct {
	mu       sync.Mutex
	maxSpans int
	spans    int
	order    *list.List // most recently used first; values are *cached
	byKey    map[string]*list.Element
}

type cached struct {
	key    string
	m      *Map
	blocks []cid.Cid // the CIDs m's spans name, decoded once
}

func newMapCache(maxSpans int) *mapCache {
	return &mapCache{maxSpans: maxSpans, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *mapCache) get(key string) (*Map, []cid.Cid) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, nil
	}
	c.order.MoveToFront(e)
	kept := e.Value.(*cached)
	m := *kept.m // callers may change the copy's fields; Spans and blocks are shared, never changed
	return &m, kept.blocks
}

// put keeps m, and the CIDs its spans name, if every span of it is in a local block file.
func (c *mapCache) put(key string, m *Map, blocks []cid.Cid) {
	if m.Type != "file" || len(m.Spans) == 0 || len(m.Spans) > c.maxSpans {
		return
	}
	for _, s := range m.Spans {
		if !s.Local || s.File == "" {
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return
	}
	kept := *m
	c.byKey[key] = c.order.PushFront(&cached{key: key, m: &kept, blocks: blocks})
	c.spans += len(m.Spans)
	for c.spans > c.maxSpans {
		last := c.order.Back()
		old := last.Value.(*cached)
		c.order.Remove(last)
		delete(c.byKey, old.key)
		c.spans -= len(old.m.Spans)
	}
}

func (c *mapCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	c.byKey = map[string]*list.Element{}
	c.spans = 0
}
