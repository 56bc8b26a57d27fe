package fsapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/ipfs/boxo/files"
	unixfsio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/boxo/mfs"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/core/coreiface/options"
	mh "github.com/multiformats/go-multihash"

	"iptf.io/node/blockmap"
	"iptf.io/node/fetch"
	"iptf.io/node/uri"
)

// TestClassifyLibraryErrors feeds Classify the errors the kubo and boxo versions of go.mod
// really produce, each made by calling the library the way the node does. An upgrade that
// changes an error's value or type fails here, not in a user's training job.
func TestClassifyLibraryErrors(t *testing.T) {
	fs := testFS(t)
	ctx := context.Background()
	root := fs.Node.FilesRoot
	file := addBytes(t, fs, []byte("a file\n"))
	dir, err := fs.API.Unixfs().Add(ctx, files.NewMapDirectory(map[string]files.Node{
		"f": files.NewBytesFile([]byte("x"))}))
	if err != nil {
		t.Fatal(err)
	}
	fileNode, err := fs.Node.DAG.Get(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	dirNode, err := fs.Node.DAG.Get(ctx, dir.RootCid())
	if err != nil {
		t.Fatal(err)
	}
	if err := root.GetDirectory().AddChild("f", fileNode); err != nil {
		t.Fatal(err)
	}
	if err := mfs.Mkdir(root, "/d", mfs.MkdirOpts{}); err != nil {
		t.Fatal(err)
	}
	cbor := putBlock(t, fs, cid.DagCBOR, mh.SHA2_256, []byte{0xa1, 0x61, 0x61, 0x01}) // {"a": 1}
	unknownCodec := putBlock(t, fs, 0x9999, mh.SHA2_256, []byte("?"))
	unknownHash := unregisteredHashCid(t)
	absent, _ := (cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}).Sum([]byte("absent"))

	resolve := func(p string) error {
		_, err := fs.API.ResolveNode(ctx, contentPath(t, p))
		return err
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	cases := []struct {
		name string
		err  func() error
		want Code
	}{
		// mfs (boxo/mfs): names in the writable tree.
		{"mfs child missing", func() error { _, err := root.GetDirectory().Child("nope"); return err }, NotFound},
		{"mfs lookup missing", func() error { _, err := mfs.Lookup(root, "/nope/x"); return err }, NotFound},
		{"mfs mkdir existing", func() error { return mfs.Mkdir(root, "/d", mfs.MkdirOpts{}) }, AlreadyExists},
		{"mfs add existing child", func() error { return root.GetDirectory().AddChild("f", fileNode) }, AlreadyExists},
		// boxo's mfs.Lookup says "cannot access f/x: Not a directory" and nothing else (no value,
		// no type), which is why fs.lookup walks the tree itself. Should this start to classify,
		// boxo has gained a typed error for it.
		{"mfs lookup under a file (text only)", func() error { _, err := mfs.Lookup(root, "/f/x"); return err }, Internal},
		{"fs.lookup under a file", func() error { _, err := fs.lookup("/f/x/y"); return err }, FailedPrecondition},

		// kubo's path resolution (boxo/path/resolver over go-ipld-prime).
		{"no link in a directory", func() error { return resolve(dir.String() + "/nope") }, NotFound},
		{"under a one-block file", func() error { return resolve("/ipfs/" + file.String() + "/child") }, FailedPrecondition},
		{"missing key in dag-cbor", func() error { return resolve("/ipfs/" + cbor.String() + "/b") }, NotFound},
		{"under an int in dag-cbor", func() error { return resolve("/ipfs/" + cbor.String() + "/a/b") }, FailedPrecondition},
		{"unknown codec", func() error { return resolve("/ipfs/" + unknownCodec.String()) }, InvalidArgument},
		{"unknown codec, subpath", func() error { return resolve("/ipfs/" + unknownCodec.String() + "/a") }, InvalidArgument},
		{"unregistered hash", func() error { return resolve("/ipfs/" + unknownHash.String()) }, InvalidArgument},
		{"unregistered hash, subpath", func() error { return resolve("/ipfs/" + unknownHash.String() + "/a") }, InvalidArgument},
		{"block absent, offline", func() error { return resolve("/ipfs/" + absent.String()) }, NotFound},
		{"name unresolvable, offline", func() error {
			return resolve("/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8")
		}, NotFound},
		// A resolution cut short says only namesys.ErrResolveFailed (no context error inside):
		// FS asks its context instead (see TestCancelledResolutionIsUnavailable).
		{"cancelled resolution", func() error {
			_, err := fs.API.ResolveNode(cancelled, contentPath(t, "/ipfs/"+absent.String()))
			return err
		}, NotFound},

		// What the fetcher says when a bitswap session ends a want unanswered (its provider
		// stopped): boxo's getter has only the text "promise channel was closed" for it.
		{"fetch not answered", func() error {
			return fmt.Errorf("%w: %s: %w", fetch.ErrNotRetrieved, absent, errors.New("promise channel was closed"))
		}, Unavailable},

		// Parsing CIDs, paths and multihashes (go-cid, boxo/path, go-multihash).
		{"cid garbage", func() error { _, err := cid.Decode("bafyXXX"); return err }, InvalidArgument},
		{"cid empty", func() error { _, err := cid.Decode(""); return err }, InvalidArgument},
		{"path with a bad cid", func() error { _, err := path.NewPath("/ipfs/not-a-cid/x"); return err }, InvalidArgument},
		{"path in no namespace", func() error { _, err := path.NewPath("/elsewhere/x"); return err }, InvalidArgument},
		{"multihash unknown function", func() error { _, err := mh.Sum([]byte("x"), 0x9999, -1); return err }, InvalidArgument},
		{"multihash too short", func() error { _, err := mh.Cast([]byte{0x12}); return err }, InvalidArgument},

		// UnixFS (boxo/ipld/unixfs).
		{"read a directory", func() error { _, err := unixfsio.NewDagReader(ctx, dirNode, fs.Node.DAG); return err },
			FailedPrecondition},
		{"list a file", func() error { _, err := unixfsio.NewDirectoryFromNode(fs.Node.DAG, fileNode); return err },
			FailedPrecondition},
		{"block map of dag-cbor", func() error {
			nd, err := fs.Node.DAG.Get(ctx, cbor)
			if err != nil {
				return err
			}
			_, err = fs.Blocks.Build(ctx, nd)
			return err
		}, InvalidArgument},

		// The operating system.
		{"disk full", func() error { return os.WriteFile("/dev/full", []byte("x"), 0o600) }, ResourceExhausted},
		{"no such file", func() error { _, err := os.Open("/nonexistent/iptf"); return err }, NotFound},

		// IPTF's own.
		{"bad iptf URI", func() error { _, err := uri.Parse("iptf://elsewhere/x"); return err }, InvalidArgument},
		{"not UnixFS", func() error { return blockmap.ErrNotUnixFS }, InvalidArgument},
		{"already classified", func() error { return errorf(OutOfRange, "iptf://x", "past the end") }, OutOfRange},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.err()
			if err == nil {
				t.Fatal("the library gave no error")
			}
			got := Classify("iptf://under/test", err)
			if got.Code != c.want {
				t.Errorf("%T %q: got %s, want %s", err, err, got.Code, c.want)
			}
		})
	}
}

// A multi-block file with a path below it: the resolver's answer (ErrNoLink here) alone would
// say NotFound; FS looks at the ancestors and says what TensorFlow expects.
func TestResolverAnswerForMultiBlockFile(t *testing.T) {
	fs := testFS(t)
	big := addBytes(t, fs, bigFile, options.Unixfs.RawLeaves(true), options.Unixfs.CidVersion(1))
	_, err := fs.API.ResolveNode(context.Background(), contentPath(t, "/ipfs/"+big.String()+"/a/b"))
	if err == nil {
		t.Fatal("resolved a path below a file")
	}
	if got := Classify("", err).Code; got != NotFound {
		t.Errorf("the resolver's own error %T %q now classifies as %s: fs.resolveError may be simpler", err, err, got)
	}
	_, err = fs.Stat(context.Background(), "iptf://ipfs/"+big.String()+"/a/b")
	var e *Error
	if !errors.As(err, &e) || e.Code != FailedPrecondition {
		t.Errorf("Stat below a multi-block file: %v", err)
	}
}

func TestCancelledResolutionIsUnavailable(t *testing.T) {
	fs := testFS(t)
	absent, _ := (cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}).Sum([]byte("absent"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := fs.Stat(ctx, "iptf://ipfs/"+absent.String())
	var e *Error
	if !errors.As(err, &e) || e.Code != Unavailable {
		t.Errorf("Stat with a cancelled context: %v", err)
	}
}

func TestDNSLinkNameOfAnOfflineNodeIsUnavailable(t *testing.T) {
	fs := testFS(t)
	_, err := fs.Stat(context.Background(), "iptf://ipns/example.com/f")
	var classified *Error
	if !errors.As(err, &classified) || classified.Code != Unavailable {
		t.Fatalf("stat of a DNSLink name offline: %v", err)
	}
}
