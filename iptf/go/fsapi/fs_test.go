package fsapi

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/core/coreiface/options"
	mh "github.com/multiformats/go-multihash"

	"iptf.io/node/protocol"
)

// codeOfCall is the class of the error an FS call gave ("" for none).
func codeOfCall(t *testing.T, err error) Code {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("unclassified error %T: %v", err, err)
	}
	return e.Code
}

// TestUnderAFile: TensorFlow's POSIX filesystem answers FailedPrecondition (ENOTDIR) for a path
// that runs under a file, whatever the operation.
func TestUnderAFile(t *testing.T) {
	fs := testFS(t)
	ctx := context.Background()
	who := Caller{NoLog: true}
	if _, err := fs.Write(ctx, "iptf://repo/root/f", stage(t, fs, []byte("a file\n")), who); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Write(ctx, "iptf://repo/root/g", stage(t, fs, []byte("another\n")), who); err != nil {
		t.Fatal(err)
	}
	if err := fs.Mkdir(ctx, "iptf://repo/root/d", false); err != nil {
		t.Fatal(err)
	}
	small := addBytes(t, fs, []byte("content\n")).String()
	big := addBytes(t, fs, bigFile, options.Unixfs.RawLeaves(true), options.Unixfs.CidVersion(1)).String()

	var under []string
	for _, p := range []string{"iptf://repo/root/f", "iptf://ipfs/" + small, "iptf://ipfs/" + big} {
		under = append(under, p+"/x", p+"/x/y")
	}
	for _, u := range under {
		t.Run(u, func(t *testing.T) {
			check := func(op string, err error) {
				t.Helper()
				if got := codeOfCall(t, err); got != FailedPrecondition {
					t.Errorf("%s: got %q (%v), want FailedPrecondition", op, got, err)
				}
			}
			_, err := fs.Stat(ctx, u)
			check("stat", err)
			_, err = fs.List(ctx, u)
			check("ls", err)
			_, err = fs.Open(ctx, u, "", who)
			check("open", err)
			_, err = fs.Read(ctx, u, 0, 10, who)
			check("read", err)
			_, err = fs.Copy(ctx, u, "iptf://repo/root/copy", who)
			check("copy from", err)
			_, err = fs.Glob(ctx, u+"/*")
			if err != nil {
				t.Errorf("glob: %v", err) // a pattern under a file matches nothing
			}
			if u[:len("iptf://repo/")] != "iptf://repo/" {
				return // the rest writes: content is read-only (PermissionDenied)
			}
			_, err = fs.Write(ctx, u, stage(t, fs, []byte("w")), who)
			check("write", err)
			check("mkdir", fs.Mkdir(ctx, u, false))
			check("mkdir -p", fs.Mkdir(ctx, u, true))
			check("mkdir -p below", fs.Mkdir(ctx, u+"/z", true))
			for _, kind := range []string{RemoveFile, RemoveDir, RemoveRecursive} {
				check("rm "+kind, fs.Remove(ctx, u, kind, who))
			}
			check("mv from", fs.Move(ctx, u, "iptf://repo/root/moved"))
			check("mv to", fs.Move(ctx, "iptf://repo/root/g", u))
			_, err = fs.Copy(ctx, "iptf://repo/root/g", u, who)
			check("copy to", err)
			_, err = fs.Stat(ctx, "iptf://meta/repo/root/f/x")
			check("meta stat", err)
		})
	}
	// Nothing of the above changed the tree.
	for _, p := range []string{"iptf://repo/root/g", "iptf://repo/root/f"} {
		if st, err := fs.Stat(ctx, p); err != nil || st.Type != protocol.TypeFile {
			t.Errorf("%s after the failed calls: %+v %v", p, st, err)
		}
	}
}

// TestContentThatIsNoUnixFS: paths into dag-cbor and dag-json blocks, CIDs of a codec or hash
// function the node does not know: the user's mistake (InvalidArgument), not Internal.
func TestContentThatIsNoUnixFS(t *testing.T) {
	fs := testFS(t)
	ctx := context.Background()
	cbor := putBlock(t, fs, cid.DagCBOR, mh.SHA2_256, []byte{0xa1, 0x61, 0x61, 0x01}).String()
	json := putBlock(t, fs, cid.DagJSON, mh.SHA2_256, []byte(`{"a":1}`)).String()
	unknownCodec := putBlock(t, fs, 0x9999, mh.SHA2_256, []byte("?")).String()
	unknownHash := unregisteredHashCid(t).String()
	var uris []string
	for _, c := range []string{cbor, json, unknownCodec, unknownHash} {
		for _, sub := range []string{"", "/a", "/b", "/a/b"} {
			uris = append(uris, "iptf://ipfs/"+c+sub)
		}
	}
	for _, u := range uris {
		_, err := fs.Stat(ctx, u)
		if got := codeOfCall(t, err); got != InvalidArgument {
			t.Errorf("stat %s: got %q (%v), want InvalidArgument", u, got, err)
		}
		_, err = fs.Open(ctx, u, "", Caller{NoLog: true})
		if got := codeOfCall(t, err); got != InvalidArgument {
			t.Errorf("open %s: got %q (%v), want InvalidArgument", u, got, err)
		}
	}
}

func TestTreeErrors(t *testing.T) {
	fs := testFS(t)
	ctx := context.Background()
	who := Caller{NoLog: true}
	if err := fs.Mkdir(ctx, "iptf://repo/root/d/e", true); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Write(ctx, "iptf://repo/root/d/e/f", stage(t, fs, []byte("x")), who); err != nil {
		t.Fatal(err)
	}
	dir, err := fs.API.Unixfs().Add(ctx, files.NewMapDirectory(map[string]files.Node{"f": files.NewBytesFile([]byte("x"))}))
	if err != nil {
		t.Fatal(err)
	}
	statErr := func(u string) error { _, err := fs.Stat(ctx, u); return err }
	writeErr := func(u string) error { _, err := fs.Write(ctx, u, stage(t, fs, []byte("w")), who); return err }
	cases := []struct {
		name string
		err  error
		want Code
	}{
		{"stat missing", statErr("iptf://repo/root/nope"), NotFound},
		{"stat under missing", statErr("iptf://repo/root/nope/x"), NotFound},
		{"stat missing in a content directory", statErr("iptf://" + dir.String()[1:] + "/nope"), NotFound},
		{"stat a bad CID", statErr("iptf://ipfs/not-a-cid"), InvalidArgument},
		{"rm missing", fs.Remove(ctx, "iptf://repo/root/nope", RemoveFile, who), NotFound},
		{"rm under missing", fs.Remove(ctx, "iptf://repo/root/nope/x", RemoveRecursive, who), NotFound},
		{"rmdir non-empty", fs.Remove(ctx, "iptf://repo/root/d", RemoveDir, who), FailedPrecondition},
		{"rm a directory as a file", fs.Remove(ctx, "iptf://repo/root/d", RemoveFile, who), FailedPrecondition},
		{"rmdir a file", fs.Remove(ctx, "iptf://repo/root/d/e/f", RemoveDir, who), FailedPrecondition},
		{"rm the root", fs.Remove(ctx, "iptf://repo/root", RemoveRecursive, who), FailedPrecondition},
		{"rm content", fs.Remove(ctx, "iptf://"+dir.String()[1:]+"/f", RemoveFile, who), PermissionDenied},
		{"mkdir existing dir", fs.Mkdir(ctx, "iptf://repo/root/d", false), AlreadyExists},
		{"mkdir existing file", fs.Mkdir(ctx, "iptf://repo/root/d/e/f", false), AlreadyExists},
		{"mkdir -p existing file", fs.Mkdir(ctx, "iptf://repo/root/d/e/f", true), AlreadyExists},
		{"mkdir -p existing dir", fs.Mkdir(ctx, "iptf://repo/root/d", true), ""},
		{"mkdir without parent", fs.Mkdir(ctx, "iptf://repo/root/nope/x", false), NotFound},
		{"write over a directory", writeErr("iptf://repo/root/d"), FailedPrecondition},
		{"write without parent", writeErr("iptf://repo/root/nope/x"), NotFound},
		{"mv missing", fs.Move(ctx, "iptf://repo/root/nope", "iptf://repo/root/x"), NotFound},
		{"mv into itself", fs.Move(ctx, "iptf://repo/root/d", "iptf://repo/root/d/e/g"), InvalidArgument},
		{"read a directory", func() error { _, err := fs.Read(ctx, "iptf://repo/root/d", 0, 1, who); return err }(),
			FailedPrecondition},
		{"list a file", func() error { _, err := fs.List(ctx, "iptf://repo/root/d/e/f"); return err }(),
			FailedPrecondition},
	}
	for _, c := range cases {
		if got := codeOfCall(t, c.err); got != c.want {
			t.Errorf("%s: got %q (%v), want %q", c.name, got, c.err, c.want)
		}
	}
}

// TestViewsShareTreeLock: the views of one filesystem that requests get (their own API, the
// write-back queue) change the tree under the filesystem's one lock.
func TestViewsShareTreeLock(t *testing.T) {
	fs := testFS(t)
	view := fs.WithAPI(fs.API).WithPending(nil)
	fs.tree.Lock()
	done := make(chan error, 1)
	go func() { done <- view.Mkdir(context.Background(), "iptf://repo/root/d", false) }()
	select {
	case err := <-done:
		fs.tree.Unlock()
		t.Fatalf("a view changed the tree while the filesystem held its lock (%v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	fs.tree.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(context.Background(), "iptf://repo/root/d"); err != nil {
		t.Fatalf("the view's directory is not in the filesystem's tree: %v", err)
	}
}

// TestSeparateFilesystemsDoNotShareALock: the tree lock is a filesystem's, not the process's.
func TestSeparateFilesystemsDoNotShareALock(t *testing.T) {
	a, b := testFS(t), testFS(t)
	a.tree.Lock()
	defer a.tree.Unlock()
	done := make(chan error, 1)
	go func() { done <- b.Mkdir(context.Background(), "iptf://repo/root/d", false) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("one filesystem waited for another's tree lock")
	}
}

// TestOpenLeavesOutTheSpansOfAMapTheCallerHolds: iptf/open's known option. The same file
// answers without spans; a file that is no longer the CID the caller holds answers in full.
func TestOpenLeavesOutTheSpansOfAMapTheCallerHolds(t *testing.T) {
	fs := testFS(t)
	ctx := context.Background()
	first := addBytes(t, fs, bytes.Repeat([]byte("a"), 1<<20)).String()
	second := addBytes(t, fs, bytes.Repeat([]byte("b"), 1<<20)).String()
	full, err := fs.Open(ctx, "iptf://ipfs/"+first, "", Caller{NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	if full.Known || len(full.Spans) != 4 || full.Cid != first {
		t.Fatalf("a first open: known %v, %d spans, CID %s", full.Known, len(full.Spans), full.Cid)
	}
	again, err := fs.Open(ctx, "iptf://ipfs/"+first, first, Caller{NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Known || again.Spans != nil || again.Cid != first || again.Size != full.Size || again.Type != full.Type {
		t.Fatalf("an open of the CID the caller holds: %+v", again)
	}
	other, err := fs.Open(ctx, "iptf://ipfs/"+second, first, Caller{NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	if other.Known || len(other.Spans) != 4 || other.Cid != second {
		t.Fatalf("an open of another CID than the caller holds: known %v, %d spans", other.Known, len(other.Spans))
	}
}
