package blockmap

import (
	"testing"

	"github.com/ipfs/go-cid"
)

func TestCacheKeepsOnlyWhollyLocalMapsWithinItsBudget(t *testing.T) {
	c := newMapCache(4)
	local := func(n int) *Map {
		m := &Map{Cid: "Qm", Type: "file", Size: uint64(n)}
		for i := range n {
			m.Spans = append(m.Spans, Span{Offset: uint64(i), Length: 1, Cid: "Qb", Local: true, File: "/b"})
		}
		return m
	}
	mapOf := func(key string) *Map {
		m, _ := c.get(key)
		return m
	}
	blocks := []cid.Cid{cid.MustParse("bafkqaaa")}
	partial := local(2)
	partial.Spans[1].File = ""
	c.put("partial", partial, nil)
	c.put("dir", &Map{Type: "directory"}, nil)
	if mapOf("partial") != nil || mapOf("dir") != nil {
		t.Fatal("kept a map with a span outside the block files, or a directory")
	}
	c.put("a", local(2), blocks)
	c.put("b", local(2), nil)
	if got, gotBlocks := c.get("a"); got == nil || len(got.Spans) != 2 || len(gotBlocks) != 1 || !gotBlocks[0].Equals(blocks[0]) {
		t.Fatalf("a: %+v, blocks %v", got, gotBlocks)
	}
	c.put("c", local(2), nil) // over budget: b is the least recently used
	if mapOf("b") != nil || mapOf("a") == nil || mapOf("c") == nil {
		t.Fatal("eviction did not drop the least recently used map")
	}
	c.put("huge", local(5), nil)
	if mapOf("huge") != nil {
		t.Fatal("kept a map larger than the whole budget")
	}
	c.clear()
	if mapOf("a") != nil || c.spans != 0 {
		t.Fatal("clear left maps behind")
	}
}
