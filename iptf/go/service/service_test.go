package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/ipfs/kubo/config"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/repo"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"iptf.io/node/fsapi"
	"iptf.io/node/repodir"
	"iptf.io/node/staging"
)

// repoAt is an in-memory repo that says it lives at path (kubo's mock says nowhere): the
// service keeps its staging folder and reflog there.
type repoAt struct {
	repo.Repo
	path string
}

func (r repoAt) Path() string { return r.path }

// testNode is an offline kubo node over an in-memory repo at a temporary path; daemon makes
// it a daemon's node (the write-back queue is a daemon's).
func testNode(t *testing.T, daemon bool) *core.IpfsNode {
	t.Helper()
	return testNodeOn(t, testRepo(t), daemon)
}

// testRepo is an in-memory repo at a temporary path, with a new identity.
func testRepo(t *testing.T) repoAt {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	cfg.Identity.PeerID, cfg.Identity.PrivKey = id.String(), base64.StdEncoding.EncodeToString(key)
	return repoAt{Repo: &repo.Mock{C: *cfg, D: dssync.MutexWrap(datastore.NewMapDatastore())}, path: t.TempDir()}
}

// testNodeOn is an offline node over r, built with the plugin's options as a daemon's is.
func testNodeOn(t *testing.T, r repo.Repo, daemon bool) *core.IpfsNode {
	t.Helper()
	registerPlugin.Do(func() { core.RegisterFXOptionFunc((&Plugin{}).Options) })
	n, err := core.NewNode(context.Background(), &core.BuildCfg{Online: false, Repo: r})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	n.IsDaemon = daemon
	return n
}

var registerPlugin sync.Once

// stage fills a staging file of the service's repo, as a writer does before its close.
func stage(t *testing.T, s *Service, data []byte) staging.File {
	t.Helper()
	dir := repodir.Staging(s.Repo)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, staging.WriterPrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return staging.File{Path: f.Name(), Size: staging.Whole}
}

// request is the filesystem as one command sees it, and that command's end.
func request(t *testing.T, s *Service) (*fsapi.FS, context.Context, context.CancelFunc) {
	t.Helper()
	fs, err := s.FS(s.fs.API)
	if err != nil {
		t.Fatal(err)
	}
	ctx, end := context.WithCancel(context.Background())
	return fs, ctx, end
}

// TestOneServicePerNode: every command on a node gets the same service, fetcher and
// filesystem; another node gets its own; a stopped node's service is forgotten.
func TestOneServicePerNode(t *testing.T) {
	a, b := testNode(t, false), testNode(t, false)
	sa, err := For(a)
	if err != nil {
		t.Fatal(err)
	}
	again, err := For(a)
	if err != nil {
		t.Fatal(err)
	}
	if again != sa {
		t.Fatal("a second lookup made a second service for the node")
	}
	fs, _, end := request(t, sa)
	end()
	if fs.Fetcher != sa.Fetcher || fs.Reflog != sa.Reflog || fs.Blocks != sa.fs.Blocks {
		t.Error("a request's filesystem has a fetcher, reflog or block mapper of its own")
	}
	sb, err := For(b)
	if err != nil {
		t.Fatal(err)
	}
	if sb == sa || sb.Fetcher == sa.Fetcher || sb.Guard == sa.Guard || sb.Activity == sa.Activity {
		t.Fatal("two nodes share a service or a part of one")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		registry.Lock()
		_, kept := registry.byNode[a]
		registry.Unlock()
		if !kept {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a stopped node's service is still registered")
		}
	}
}

// TestQueueOutlivesRequests: the write-back queue a request opened applies writes queued by
// later requests after they ended, under the node's context.
func TestQueueOutlivesRequests(t *testing.T) {
	s, err := For(testNode(t, true))
	if err != nil {
		t.Fatal(err)
	}
	opener, _, endOpener := request(t, s)
	endOpener()
	if opener.Pending == nil {
		t.Fatal("a daemon's request got no write-back queue")
	}

	fs, ctx, end := request(t, s)
	if fs.Pending != opener.Pending {
		t.Fatal("a second request got another queue")
	}
	// A large write ahead of the small one keeps the small one queued past the request's end.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	for _, w := range []struct {
		uri  string
		data []byte
	}{{"iptf://repo/root/big", big}, {"iptf://repo/root/small", []byte("small\n")}} {
		written, err := fs.WriteBack(ctx, w.uri, stage(t, s, w.data), fsapi.Caller{NoLog: true})
		if err != nil {
			t.Fatal(err)
		}
		if !written.Queued {
			t.Fatalf("%s was written at once, not queued", w.uri)
		}
	}
	end()

	wait, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fs.Pending.WaitFor(wait, "/"); err != nil {
		t.Fatal(err)
	}
	if failures := fs.Pending.Failures(); len(failures) > 0 {
		t.Fatalf("queued writes failed once their request ended: %+v", failures)
	}
	later, ctx, end := request(t, s)
	defer end()
	st, err := later.Stat(ctx, "iptf://repo/root/small")
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != 6 {
		t.Fatalf("small holds %d bytes, want 6", st.Size)
	}
}

// TestNoQueueWithoutDaemon: a node built for one command writes at once.
func TestNoQueueWithoutDaemon(t *testing.T) {
	s, err := For(testNode(t, false))
	if err != nil {
		t.Fatal(err)
	}
	fs, _, end := request(t, s)
	defer end()
	if fs.Pending != nil {
		t.Fatal("a node without a daemon got a write-back queue")
	}
}

// closeWatched is a repo that runs onClose as the node closes it.
type closeWatched struct {
	repoAt
	onClose func()
}

func (r *closeWatched) Close() error {
	r.onClose()
	return r.repoAt.Close()
}

// TestQueueStopsBeforeTheRepoCloses: a node that stops with writes queued stops applying them
// before its repo and tree close (applied to a closed repo, a write would fail, or be lost);
// what is left stays in the journal for the next run, and no write is reported failed.
func TestQueueStopsBeforeTheRepoCloses(t *testing.T) {
	r := &closeWatched{repoAt: testRepo(t)}
	n := testNodeOn(t, r, true)
	s, err := For(n)
	if err != nil {
		t.Fatal(err)
	}
	fs, ctx, end := request(t, s)
	defer end()
	var stoppedFirst, closed bool
	r.onClose = func() {
		closed = true
		select {
		case <-s.queue.Stopped():
			stoppedFirst = s.ctx.Err() != nil
		default:
		}
	}
	for _, name := range []string{"a", "b"} {
		if _, err := fs.WriteBack(ctx, "iptf://repo/root/"+name, stage(t, s, []byte(name)), fsapi.Caller{NoLog: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if !closed {
		t.Fatal("the node did not close its repo")
	}
	if !stoppedFirst {
		t.Fatal("the repo closed while the write-back queue could still apply writes")
	}
	if failures := s.queue.Failures(); len(failures) > 0 {
		t.Fatalf("writes were reported failed: %+v", failures)
	}
}
