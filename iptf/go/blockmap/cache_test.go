package blockmap

import "testing"

func TestCacheKeepsOnlyWhollyLocalMapsWithinItsBudget(t *testing.T) {
	c := newMapCache(4)
	local := func(n int) *Map {
		m := &Map{Cid: "Qm", Type: "file", Size: uint64(n)}
		for i := range n {
			m.Spans = append(m.Spans, Span{Offset: uint64(i), Length: 1, Cid: "Qb", Local: true, File: "/b"})
		}
		return m
	}
	partial := local(2)
	partial.Spans[1].File = ""
	c.put("partial", partial)
	c.put("dir", &Map{Type: "directory"})
	if c.get("partial") != nil || c.get("dir") != nil {
		t.Fatal("kept a map with a span outside the block files, or a directory")
	}
	c.put("a", local(2))
	c.put("b", local(2))
	if got := c.get("a"); got == nil || len(got.Spans) != 2 {
		t.Fatalf("a: %+v", got)
	}
	c.put("c", local(2)) // over budget: b is the least recently used
	if c.get("b") != nil || c.get("a") == nil || c.get("c") == nil {
		t.Fatal("eviction did not drop the least recently used map")
	}
	c.put("huge", local(5))
	if c.get("huge") != nil {
		t.Fatal("kept a map larger than the whole budget")
	}
	c.clear()
	if c.get("a") != nil || c.spans != 0 {
		t.Fatal("clear left maps behind")
	}
}
