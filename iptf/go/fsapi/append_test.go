package fsapi

import (
	"bytes"
	"context"
	"math/rand"
	"testing"
	"time"

	"github.com/ipfs/kubo/config"

	"iptf.io/node/extend"
	"iptf.io/node/writeback"
)

// A file written, then extended twice (as a flush of a file still open, and as an append after
// reopening it), holds the whole content under the CID `ipfs add` gives for it, with the repo's
// Import settings: the defaults, CIDv1 with raw leaves, and few links per node (deep trees).
func TestAppendsGiveTheCIDOfAdd(t *testing.T) {
	for name, configure := range map[string]func(*config.Import){
		"defaults": func(*config.Import) {},
		"cidv1":    func(c *config.Import) { c.CidVersion = *config.NewOptionalInteger(1) },
		"few links": func(c *config.Import) {
			c.UnixFSFileMaxLinks = *config.NewOptionalInteger(3)
			c.UnixFSChunker = *config.NewOptionalString("size-1000")
		},
		"rabin fallback": func(c *config.Import) { c.UnixFSChunker = *config.NewOptionalString("rabin-1000-2000-4000") },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			fs := testFS(t)
			cfg, err := fs.Node.Repo.Config() // the in-memory repo's own config, read by every add
			if err != nil {
				t.Fatal(err)
			}
			configure(&cfg.Import)
			rng := rand.New(rand.NewSource(4))
			content := make([]byte, 700_001)
			rng.Read(content)
			cuts := []int{300_000, 300_000 + 262_144, len(content)}
			const target = "iptf://repo/root/events.log"

			// The first part, then a flush: the staged file holds everything, the new bytes from offset.
			open := stage(t, fs, content[:cuts[1]])
			first := open
			first.Size = int64(cuts[0])
			w, err := fs.Write(ctx, target, first, Caller{})
			if err != nil {
				t.Fatal(err)
			}
			flushed := open
			flushed.Base, flushed.Offset = w.Cid, int64(cuts[0])
			if w, err = fs.Write(ctx, target, flushed, Caller{}); err != nil {
				t.Fatal(err)
			}
			// Reopened for appending: the staged file holds only the new bytes.
			appended := stage(t, fs, content[cuts[1]:])
			appended.Base = w.Cid
			if w, err = fs.Write(ctx, target, appended, Caller{}); err != nil {
				t.Fatal(err)
			}

			want, err := addReader(ctx, fs.Env, "all", bytes.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			if w.Cid != want.String() || w.Size != uint64(len(content)) {
				t.Fatalf("after appends: %s (%d bytes); ipfs add gives %s (%d bytes)", w.Cid, w.Size, want, len(content))
			}
			// Where the settings allow it, what add made is extended, not imported again.
			params, extensible := fs.extendParams()
			if extensible == (name == "rabin fallback") {
				t.Fatalf("%s: extensible %v", name, extensible)
			}
			if extensible {
				if _, err := extend.Extend(ctx, fs.Node.DAG, params, want, bytes.NewReader([]byte("more"))); err != nil {
					t.Fatalf("the DAG of ipfs add cannot be extended: %v", err)
				}
			}
		})
	}
}

// A base that is no file, or a CID that is not one, fails the write; the tree is unchanged.
func TestAppendToABadBase(t *testing.T) {
	ctx := context.Background()
	fs := testFS(t)
	for base, want := range map[string]Code{"not-a-cid": InvalidArgument} {
		f := stage(t, fs, []byte("x"))
		f.Base = base
		_, err := fs.Write(ctx, "iptf://repo/root/f", f, Caller{})
		if got := codeOfCall(t, err); got != want {
			t.Errorf("base %q: %s (%v), want %s", base, got, err, want)
		}
	}
}

// An appender opened while the file's last write is still queued starts after what that write
// leaves, without waiting for it; the node takes the file as the queue leaves it, and the result
// is `ipfs add`'s CID for the whole content. A base of another size than the file then has
// (the file changed under the appender) fails the write and leaves the tree as it was.
func TestAppendAfterQueuedWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fs := testFS(t)
	gate := make(chan struct{})
	q, err := writeback.Open(ctx, fs.Staging, func(ctx context.Context, op writeback.Op) error {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		return fs.Apply(ctx, op)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	view := fs.WithPending(q)
	content := make([]byte, 600_000)
	rand.New(rand.NewSource(5)).Read(content)
	const target = "iptf://repo/root/train.csv"
	const cut = 333_333

	if w, err := view.WriteBack(ctx, target, stage(t, fs, content[:cut]), Caller{}); err != nil || !w.Queued {
		t.Fatalf("first write: %+v, %v", w, err)
	}
	st, err := view.Stage(ctx, target, true) // the queue is held: waiting for it would time out
	if err != nil {
		t.Fatal(err)
	}
	if !st.AfterQueued || st.Base != "" || st.Size != cut {
		t.Fatalf("staged for appending after a queued write: %+v", st)
	}
	more := stage(t, fs, content[cut:])
	more.AfterQueued, more.BaseSize = true, cut
	if w, err := view.WriteBack(ctx, target, more, Caller{}); err != nil || !w.Queued {
		t.Fatalf("append: %+v, %v", w, err)
	}
	close(gate)
	got, err := view.Stat(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	want, err := addReader(ctx, fs.Env, "all", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if got.Cid != want.String() || got.Size != uint64(len(content)) {
		t.Fatalf("after the queued append: %s (%d bytes); ipfs add gives %s (%d bytes)", got.Cid, got.Size, want, len(content))
	}
	if st, err := view.Stage(ctx, target, true); err != nil || st.AfterQueued || st.Base != want.String() || st.Size != uint64(len(content)) {
		t.Fatalf("staged for appending with nothing queued: %+v, %v", st, err)
	}

	stale := stage(t, fs, []byte("late"))
	stale.AfterQueued, stale.BaseSize = true, cut
	if _, err := view.Write(ctx, target, stale, Caller{}); codeOfCall(t, err) != FailedPrecondition {
		t.Fatalf("an append after a base of the wrong size: %v, want FailedPrecondition", err)
	}
	if after, err := view.Stat(ctx, target); err != nil || after.Cid != want.String() {
		t.Fatalf("the tree after the refused append: %+v, %v", after, err)
	}
}
