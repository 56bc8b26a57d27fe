package fetch

import (
	"sync"

	dag "github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// maxLeaves bounds the leaves remembered (about 2 MB of memory): a fetch looks a leaf up right
// after it brought it, and 16 Ki leaves of 256 KiB are 4 GiB of files.
const maxLeaves = 1 << 14

// leaves remembers dag-pb blocks seen to have no links. A CIDv0 file (kubo's default) wraps
// every 256 KiB of its bytes in a dag-pb leaf, so a fetch walking the file's levels would
// otherwise read each leaf back from its block file only to learn that it has no children:
// as many bytes again as the fetch brought. The oldest are forgotten first.
type leaves struct {
	mu    sync.Mutex
	known map[cid.Cid]struct{}
	ring  []cid.Cid // in the order they were added; the next to forget at ring[next]
	next  int
}

func newLeaves() *leaves { return &leaves{known: map[cid.Cid]struct{}{}} }

// note remembers b if it is a dag-pb block without links (as DecodeProtobuf reads it).
func (l *leaves) note(b blocks.Block) {
	if b.Cid().Prefix().Codec != cid.DagProtobuf {
		return
	}
	nd, err := dag.DecodeProtobuf(b.RawData())
	if err != nil || len(nd.Links()) > 0 {
		return
	}
	l.add(b.Cid())
}

func (l *leaves) add(c cid.Cid) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.known[c]; ok {
		return
	}
	if len(l.ring) < maxLeaves {
		l.ring = append(l.ring, c)
	} else {
		delete(l.known, l.ring[l.next])
		l.ring[l.next] = c
		l.next = (l.next + 1) % maxLeaves
	}
	l.known[c] = struct{}{}
}

// has reports whether c is a dag-pb block known to have no links.
func (l *leaves) has(c cid.Cid) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.known[c]
	return ok
}
