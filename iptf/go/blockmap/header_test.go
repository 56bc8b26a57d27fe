package blockmap

import (
	"bytes"
	"testing"

	dag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
)

func TestDataSpanFindsLeafBytes(t *testing.T) {
	for _, size := range []int{0, 1, 127, 128, 16383, 16384, 262144} {
		payload := bytes.Repeat([]byte{0xAB}, size)
		node := dag.NodeWithData(unixfs.FilePBData(payload, uint64(size)))
		raw := node.RawData()
		off, n, err := dataSpan(raw)
		if size == 0 {
			if err == nil && n != 0 {
				t.Fatalf("empty leaf: got %d bytes", n)
			}
			continue
		}
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if n != size || !bytes.Equal(raw[off:off+n], payload) {
			t.Fatalf("size %d: span [%d,+%d) does not hold the payload", size, off, n)
		}
		// A prefix of the block is enough.
		if off2, n2, err := dataSpan(raw[:min(len(raw), prefixLen)]); err != nil || off2 != off || n2 != n {
			t.Fatalf("size %d: prefix gave (%d,%d,%v), whole block (%d,%d)", size, off2, n2, err, off, n)
		}
	}
}

func TestDataSpanRejectsNonUnixFS(t *testing.T) {
	for _, b := range [][]byte{nil, {0xff, 0xff}, {0x0a, 0x05, 0x08}} {
		if _, _, err := dataSpan(b); err == nil {
			t.Fatalf("%x: expected an error", b)
		}
	}
}
