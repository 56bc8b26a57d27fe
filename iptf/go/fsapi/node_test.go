package fsapi

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/namesys"
	"github.com/ipfs/boxo/path"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/commands"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/core/coreapi"
	"github.com/ipfs/kubo/core/coreiface/options"
	mh "github.com/multiformats/go-multihash"

	"iptf.io/node/fetch"
	"iptf.io/node/offlinedns"
	"iptf.io/node/repodir"
	"iptf.io/node/staging"
)

// testFS is an FS over a real kubo node that is offline and keeps its repo in memory: the
// errors the tests see are the ones kubo and boxo of go.mod produce.
func testFS(t testing.TB) *FS {
	t.Helper()
	ctx := context.Background()
	n, err := core.NewNode(ctx, &core.BuildCfg{Online: false})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	// As an IPTF node run offline: DNSLink names are refused, not sent to the machine's resolver.
	refusing, err := offlinedns.Resolver()
	if err != nil {
		t.Fatal(err)
	}
	if n.Namesys, err = namesys.NewNameSystem(n.Routing, namesys.WithDNSResolver(refusing),
		namesys.WithDatastore(n.Repo.Datastore())); err != nil {
		t.Fatal(err)
	}
	api, err := coreapi.NewCoreAPI(n)
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.Mkdir(repodir.Staging(repo), 0o700); err != nil {
		t.Fatal(err)
	}
	env := &commands.Context{ConfigRoot: repo, ConstructNode: func() (*core.IpfsNode, error) { return n, nil }}
	fs := New(n, api, env, repo, fetch.New(n, nil), nil)
	t.Cleanup(fs.Ahead.Wait) // before the repo's folder is removed
	return fs
}

// addBytes adds data as `ipfs add` would, with the given options, and returns its CID.
func addBytes(t testing.TB, fs *FS, data []byte, opts ...options.UnixfsAddOption) cid.Cid {
	t.Helper()
	p, err := fs.API.Unixfs().Add(context.Background(), files.NewBytesFile(data), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p.RootCid()
}

// putBlock stores data as one block of the given codec and hash function.
func putBlock(t testing.TB, fs *FS, codec, hash uint64, data []byte) cid.Cid {
	t.Helper()
	c, err := (cid.Prefix{Version: 1, Codec: codec, MhType: hash, MhLength: -1}).Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Node.Blockstore.Put(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return c
}

// stage writes data to a new staging file, as the plugin does before a write.
func stage(t *testing.T, fs *FS, data []byte) staging.File {
	t.Helper()
	f, err := os.CreateTemp(fs.Staging, staging.WriterPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return staging.File{Path: f.Name(), Size: staging.Whole}
}

// unregisteredHashCid is a CID whose multihash names a function nobody registered (0x9999);
// the blockstore refuses to store such a block, so it names one that is not there.
func unregisteredHashCid(t *testing.T) cid.Cid {
	t.Helper()
	digest, err := mh.Encode([]byte("digest"), 0x9999) // Encode does not look the function up
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, digest)
}

func contentPath(t *testing.T, s string) path.Path {
	t.Helper()
	p, err := path.NewPath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var bigFile = bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: four blocks of 256 KiB
