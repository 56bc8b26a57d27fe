package writeback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"iptf.io/node/staging"
)

// tree is a stand-in for the writable tree: which staged file each path holds.
type tree struct {
	mu      sync.Mutex
	files   map[string]string
	applied []Op
	started int           // applies begun (some may wait at the gate)
	gate    chan struct{} // when set, each apply waits for a value (or ctx)
	fail    string        // a path whose write fails
}

func newTree() *tree { return &tree{files: map[string]string{}} }

func (t *tree) apply(ctx context.Context, op Op) error {
	t.mu.Lock()
	t.started++
	t.mu.Unlock()
	if t.gate != nil {
		select {
		case <-t.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch op.Kind {
	case Write:
		if op.Path == t.fail {
			return errors.New("disk full")
		}
		content, _, err := op.StagedFile().Open()
		if err != nil {
			return err
		}
		body, err := io.ReadAll(content)
		content.Close()
		if err != nil {
			return err
		}
		t.files[op.Path] = string(body)
	case Move:
		body, ok := t.files[op.Path]
		if !ok {
			return errors.New("no such file")
		}
		delete(t.files, op.Path)
		t.files[op.Dst] = body
	}
	t.applied = append(t.applied, op)
	return nil
}

// applying waits until n applies have begun.
func applying(tb testing.TB, t *tree, n int) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		t.mu.Lock()
		started := t.started
		t.mu.Unlock()
		if started >= n {
			return
		}
	}
	tb.Fatalf("fewer than %d applies began", n)
}

func (t *tree) get(p string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	body, ok := t.files[p]
	return body, ok
}

// staged makes a staging file whose content is body, followed by a stale tail (the bytes a
// reused spare still holds beyond what its new writer wrote).
func staged(t *testing.T, dir, body string) staging.File {
	t.Helper()
	f, err := os.CreateTemp(dir, "write-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(body + "-stale tail"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return staging.File{Path: f.Name(), Size: int64(len(body))}
}

// gatedQueue opens a queue in a new directory over a tree whose applies wait for tr.gate.
func gatedQueue(t *testing.T) (*Queue, *tree, string) {
	t.Helper()
	dir := t.TempDir()
	tr := newTree()
	tr.gate = make(chan struct{})
	q, err := Open(waitCtx(t), dir, tr.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q, tr, dir
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestWritesApplyInOrderAndWaitersSeeThem(t *testing.T) {
	q, tr, dir := gatedQueue(t)
	first, second := staged(t, dir, "first"), staged(t, dir, "second")
	for _, f := range []staging.File{first, second} { // large enough to be kept as spares
		if err := os.Truncate(f.Path, staging.MinSpareBytes); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.EnqueueWrite("/a/x", first, -1, 1, "p", false); err != nil {
		t.Fatal(err)
	}
	if err := q.EnqueueWrite("/a/x", second, -1, 1, "p", false); err != nil {
		t.Fatal(err)
	}
	if !q.Queued("/a/x") || q.Queued("/a/y") || q.Len() != 2 {
		t.Fatalf("queued(/a/x)=%v queued(/a/y)=%v len=%d", q.Queued("/a/x"), q.Queued("/a/y"), q.Len())
	}

	// An unrelated path does not wait; /a/x, its directory and the root do.
	if err := q.WaitFor(waitCtx(t), "/b"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for _, p := range []string{"/a/x", "/a", "/"} {
		if err := q.WaitFor(short, p); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitFor(%s) while queued: %v, want a deadline", p, err)
		}
	}

	done := make(chan error, 1)
	go func() { done <- q.WaitFor(waitCtx(t), "/a/x") }()
	tr.gate <- struct{}{}
	tr.gate <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if body, _ := tr.get("/a/x"); body != "second" {
		t.Fatalf("/a/x holds %q, want the later write", body)
	}
	for _, f := range []staging.File{first, second} {
		if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
			t.Fatalf("staged file %s left behind after it was applied", f.Path)
		}
	}
	if spares, _ := filepath.Glob(filepath.Join(staging.SparesOf(dir), staging.SparePrefix+"*")); len(spares) != 2 {
		t.Fatalf("spares after two applied writes: %v, want both staged files kept for reuse", spares)
	}
	if q.Len() != 0 {
		t.Fatalf("len %d after everything was applied", q.Len())
	}
}

func TestMoveOfQueuedFileFollowsItsWrite(t *testing.T) {
	q, tr, dir := gatedQueue(t)
	if ok, _ := q.EnqueueMoveOfQueued("/tmp", "/final"); ok {
		t.Fatal("queued a rename of a file nothing is writing")
	}
	if err := q.EnqueueWrite("/tmp", staged(t, dir, "ckpt"), -1, 0, "", false); err != nil {
		t.Fatal(err)
	}
	if ok, err := q.EnqueueMoveOfQueued("/tmp", "/final"); !ok || err != nil {
		t.Fatalf("rename of a queued file: %v %v", ok, err)
	}
	if q.Queued("/tmp") || !q.Queued("/final") {
		t.Fatal("after the queued rename the file should be queued at /final only")
	}
	close(tr.gate)
	if err := q.WaitFor(waitCtx(t), "/final"); err != nil {
		t.Fatal(err)
	}
	if body, ok := tr.get("/final"); !ok || body != "ckpt" {
		t.Fatalf("/final = %q, %v", body, ok)
	}
	if _, ok := tr.get("/tmp"); ok {
		t.Fatal("/tmp still there after the rename")
	}
}

func TestFailedWriteKeepsItsBytes(t *testing.T) {
	dir := t.TempDir()
	tr := newTree()
	tr.fail = "/full"
	q, err := Open(waitCtx(t), dir, tr.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := staged(t, dir, "precious")
	if err := q.EnqueueWrite("/full", f, -1, 0, "", false); err != nil {
		t.Fatal(err)
	}
	if err := q.WaitFor(waitCtx(t), "/full"); err != nil {
		t.Fatal(err)
	}
	fails := q.Failures()
	if len(fails) != 1 || fails[0].Op.Path != "/full" || fails[0].Why != "disk full" {
		t.Fatalf("failures %+v", fails)
	}
	if body, err := os.ReadFile(f.Path); err != nil || string(body) != "precious-stale tail" {
		t.Fatalf("staged bytes of a failed write: %q, %v", body, err)
	}
}

func TestJournalAppliesWhatAStoppedNodeLeft(t *testing.T) {
	dir := t.TempDir()
	tr := newTree()
	tr.gate = make(chan struct{})
	ctx, stop := context.WithCancel(context.Background())
	q, err := Open(ctx, dir, tr.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/one", "/two"} {
		if err := q.EnqueueWrite(p, staged(t, dir, "bytes of "+p), -1, 7, "train.py", false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.EnqueueMoveOfQueued("/two", "/three"); err != nil {
		t.Fatal(err)
	}
	tr.gate <- struct{}{} // /one is applied, then the node stops
	if err := q.WaitFor(waitCtx(t), "/one"); err != nil {
		t.Fatal(err)
	}
	stop()
	<-q.Stopped() // nothing is being applied now
	if err := q.WaitFor(waitCtx(t), "/two"); !errors.Is(err, ErrStopped) {
		t.Fatalf("waiting for a write left queued by a stopped queue: %v, want ErrStopped", err)
	}

	next := newTree()
	q2, err := Open(waitCtx(t), dir, next.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q2.WaitFor(waitCtx(t), "/"); err != nil {
		t.Fatal(err)
	}
	if len(next.applied) != 2 || next.applied[0].Kind != Write || next.applied[0].Path != "/two" ||
		next.applied[0].Pid != 7 || next.applied[1].Kind != Move {
		t.Fatalf("replayed %+v, want the write of /two then its rename", next.applied)
	}
	if body, _ := next.get("/three"); body != "bytes of /two" {
		t.Fatalf("/three = %q", body)
	}
	if info, err := os.Stat(filepath.Join(dir, journalName)); err != nil || info.Size() != 0 {
		t.Fatalf("journal after everything was applied: %v, %v", info, err)
	}
}

func TestOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"/a", "/a", true}, {"/a", "/a/b", true}, {"/a/b", "/a", true}, {"/", "/x", true},
		{"/a", "/ab", false}, {"/a/b", "/a/c", false},
	} {
		if got := overlap(c.a, c.b); got != c.want {
			t.Errorf("overlap(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// A failed write outlives the node: it is listed after a restart, stands for its path until
// the path is written again, and retry applies its kept bytes once the cause is gone.
func TestFailuresPersistBlockAndRetry(t *testing.T) {
	dir := t.TempDir()
	tr := newTree()
	tr.fail = "/ckpt"
	q, err := Open(waitCtx(t), dir, tr.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := staged(t, dir, "weights")
	if err := q.EnqueueWrite("/ckpt", f, -1, 1, "train", false); err != nil {
		t.Fatal(err)
	}
	if err := q.WaitFor(waitCtx(t), "/ckpt"); err != nil {
		t.Fatal(err)
	}
	if _, failed := q.FailureAt("/ckpt"); !failed {
		t.Fatal("the failed write does not stand for its path")
	}

	// A new queue over the same directory (a restarted node) still knows the failure.
	q2, err := Open(waitCtx(t), dir, tr.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, failed := q2.FailureAt("/ckpt")
	if !failed || got.Op.Staged != f.Path || got.Why != "disk full" || got.Time.IsZero() {
		t.Fatalf("after a restart: %+v, %v", got, failed)
	}

	tr.mu.Lock()
	tr.fail = ""
	tr.mu.Unlock()
	retried, err := q2.Retry()
	if err != nil || len(retried) != 1 {
		t.Fatalf("retry: %+v, %v", retried, err)
	}
	if err := q2.WaitFor(waitCtx(t), "/ckpt"); err != nil {
		t.Fatal(err)
	}
	if body, ok := tr.get("/ckpt"); !ok || body != "weights" {
		t.Fatalf("after retry the tree holds %q, %v", body, ok)
	}
	if fails := q2.Failures(); len(fails) != 0 {
		t.Fatalf("failures left after a retry that worked: %+v", fails)
	}
	q3, err := Open(waitCtx(t), dir, tr.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fails := q3.Failures(); len(fails) != 0 {
		t.Fatalf("a retried failure came back after a restart: %+v", fails)
	}
}

// A failure superseded by a later write no longer blocks its path, is left out of a blanket
// retry (older bytes never replace newer ones) and is discarded with its bytes.
func TestSupersededFailureIsKeptUntilDiscarded(t *testing.T) {
	dir := t.TempDir()
	tr := newTree()
	tr.fail = "/a"
	q, err := Open(waitCtx(t), dir, tr.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := staged(t, dir, "old")
	if err := q.EnqueueWrite("/a", f, -1, 0, "", false); err != nil {
		t.Fatal(err)
	}
	if err := q.WaitFor(waitCtx(t), "/a"); err != nil {
		t.Fatal(err)
	}
	q.Supersede("/a")
	if _, failed := q.FailureAt("/a"); failed {
		t.Fatal("a superseded failure still blocks its path")
	}
	if retried, err := q.Retry(); err != nil || len(retried) != 0 {
		t.Fatalf("a blanket retry took a superseded failure: %+v, %v", retried, err)
	}
	dropped, err := q.Discard("/a")
	if err != nil || len(dropped) != 1 || !dropped[0].Superseded {
		t.Fatalf("discard: %+v, %v", dropped, err)
	}
	if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
		t.Fatalf("discarded bytes still on disk: %v", err)
	}
	if fails := q.Failures(); len(fails) != 0 {
		t.Fatalf("failures after discard: %+v", fails)
	}
}

// A failure that cannot be written to disk (the full disk that failed the op) leaves the op in
// the journal: the next node applies it again, and lets go of it once the failure is recorded.
func TestAnUnrecordedFailureStaysJournaled(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, failedName+".new", "x") // the failures file cannot be written
	if err := os.MkdirAll(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	tr := newTree()
	tr.fail = "/ckpt"
	run := func() *Queue {
		ctx, stop := context.WithCancel(context.Background())
		t.Cleanup(stop)
		q, err := Open(ctx, dir, tr.apply, nil)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	journaled := func() bool {
		read, err := readJournal(filepath.Join(dir, journalName))
		if err != nil {
			t.Fatal(err)
		}
		return len(read.left) == 1 && read.left[0].Path == "/ckpt"
	}

	q := run()
	if err := q.EnqueueWrite("/ckpt", staged(t, dir, "weights"), -1, 1, "train", false); err != nil {
		t.Fatal(err)
	}
	if err := q.WaitFor(waitCtx(t), "/ckpt"); err != nil {
		t.Fatal(err)
	}
	if _, failed := q.FailureAt("/ckpt"); !failed || !journaled() {
		t.Fatalf("failed %v, journaled %v: want the failure listed and the op kept in the journal", failed, journaled())
	}

	// The next node tries again, and the disk is still full.
	q2 := run()
	if err := q2.WaitFor(waitCtx(t), "/"); err != nil {
		t.Fatal(err)
	}
	if _, failed := q2.FailureAt("/ckpt"); !failed || !journaled() {
		t.Fatalf("after a restart: failed %v, journaled %v", failed, journaled())
	}

	// Room again: the next node's failure is recorded and the journal lets go of the op.
	if err := os.RemoveAll(filepath.Dir(blocker)); err != nil {
		t.Fatal(err)
	}
	q3 := run()
	if err := q3.WaitFor(waitCtx(t), "/"); err != nil {
		t.Fatal(err)
	}
	if journaled() {
		t.Fatal("the journal still holds an op whose failure is recorded")
	}
	q4 := run()
	if got, failed := q4.FailureAt("/ckpt"); !failed || got.Why != "disk full" {
		t.Fatalf("the recorded failure: %+v, %v", got, failed)
	}
}

// recordFlushes makes q apply writes in batches and returns what its flushes were given so far.
func recordFlushes(q *Queue) func() [][]string {
	var mu sync.Mutex
	var flushed [][]string
	q.BatchWrites(func(ctx context.Context, dirs []string) error {
		mu.Lock()
		defer mu.Unlock()
		flushed = append(flushed, dirs)
		return nil
	})
	return func() [][]string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(flushed)
	}
}

// Writes that queue up while one is applied are applied together, unflushed, and the tree is
// persisted once for them; only then are they journaled done and their waiters released.
func TestQueuedWritesAreAppliedInBatchesWithOneFlush(t *testing.T) {
	q, tr, dir := gatedQueue(t)
	flushes := recordFlushes(q)
	for i := 0; i < 10; i++ {
		if err := q.EnqueueWrite(fmt.Sprintf("/d/f%d", i), staged(t, dir, fmt.Sprint(i)), -1, 1, "p", false); err != nil {
			t.Fatal(err)
		}
		if i == 0 { // a reader of the first has it applied at once, alone: the others queue up behind it
			go func() { _ = q.WaitFor(waitCtx(t), "/d/f0") }()
			applying(t, tr, 1)
		}
	}
	for i := 0; i < 10; i++ {
		tr.gate <- struct{}{}
	}
	if err := q.WaitFor(waitCtx(t), "/d"); err != nil {
		t.Fatal(err)
	}
	flushed := flushes()
	if len(flushed) != 2 || len(flushed[1]) != 9 || flushed[1][0] != "/d" {
		t.Fatalf("flushes %v, want one for the first write and one for the nine behind it", flushed)
	}
	for i, op := range tr.applied {
		if !op.Unflushed || op.Path != fmt.Sprintf("/d/f%d", i) {
			t.Fatalf("applied %+v", tr.applied)
		}
	}
	if info, err := os.Stat(filepath.Join(dir, journalName)); err != nil || info.Size() != 0 {
		t.Fatalf("journal after the batch: %v, %v", info, err)
	}
}

// Writes closed in a burst, with nobody waiting for them, are applied once the writer pauses,
// together, with one flush.
func TestABurstOfWritesIsAppliedAfterItWithOneFlush(t *testing.T) {
	dir := t.TempDir()
	tr := newTree()
	q, err := Open(waitCtx(t), dir, tr.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	q.burst = burstTimes{gap: time.Second, max: 3 * time.Second} // a loaded machine may pause the writer a while
	q.mu.Unlock()
	flushes := recordFlushes(q)
	for i := 0; i < 10; i++ {
		if err := q.EnqueueWrite(fmt.Sprintf("/d/f%d", i), staged(t, dir, fmt.Sprint(i)), -1, 1, "p", false); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for q.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if flushed := flushes(); len(flushed) != 1 || len(flushed[0]) != 10 {
		t.Fatalf("flushes %v, want one for the ten writes", flushed)
	}
}

// A flush that fails makes every write of its batch a failure (their bytes kept).
func TestAFailedFlushFailsItsBatch(t *testing.T) {
	dir := t.TempDir()
	tr := newTree()
	q, err := Open(waitCtx(t), dir, tr.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	q.BatchWrites(func(context.Context, []string) error { return errors.New("no space left on device") })
	f := staged(t, dir, "kept")
	if err := q.EnqueueWrite("/x", f, -1, 1, "p", false); err != nil {
		t.Fatal(err)
	}
	if err := q.WaitFor(waitCtx(t), "/x"); err != nil {
		t.Fatal(err)
	}
	if fails := q.Failures(); len(fails) != 1 || fails[0].Op.Path != "/x" || fails[0].Why != "no space left on device" {
		t.Fatalf("failures %+v", fails)
	}
	if _, err := os.Stat(f.Path); err != nil {
		t.Fatalf("the failed write's bytes: %v", err)
	}
}

// After a flush that took F, the queue gathers the writes that follow for a while (flushGap×F)
// and persists them once, so a folder whose flush grows with its size is flushed less often;
// a waiter for a queued write cuts the wait short.
func TestWritesAfterASlowFlushAreGatheredIntoOneBatch(t *testing.T) {
	dir := t.TempDir()
	tr := newTree()
	q, err := Open(waitCtx(t), dir, tr.apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var batches []int
	q.BatchWrites(func(ctx context.Context, dirs []string) error {
		mu.Lock()
		batches = append(batches, len(dirs))
		mu.Unlock()
		time.Sleep(100 * time.Millisecond) // a large folder's flush
		return nil
	})
	if err := q.EnqueueWrite("/d/first", staged(t, dir, "first"), -1, 1, "p", false); err != nil {
		t.Fatal(err)
	}
	if err := q.WaitFor(waitCtx(t), "/d/first"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // a writer closing a file every few milliseconds, after the slow flush
		if err := q.EnqueueWrite(fmt.Sprintf("/d/f%d", i), staged(t, dir, fmt.Sprint(i)), -1, 1, "p", false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := q.WaitFor(waitCtx(t), "/d/f4"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(batches) != 2 || batches[1] != 5 {
		t.Fatalf("batches of %v writes, want the first alone and the five behind it together", batches)
	}
	if body, _ := tr.get("/d/f4"); body != "4" {
		t.Fatalf("/d/f4 holds %q", body)
	}
}

// A waiter waits for the ops queued before it asked, not for those queued while it waits: a
// writer flushing a file again and again cannot keep its readers waiting.
func TestAWaiterDoesNotWaitForLaterOps(t *testing.T) {
	q, tr, dir := gatedQueue(t)
	if err := q.EnqueueWrite("/log", staged(t, dir, "first"), -1, 1, "p", false); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- q.WaitFor(waitCtx(t), "/log") }()
	for q.waitersForTest() == 0 { // the waiter has looked at the queue
		time.Sleep(time.Millisecond)
	}
	if err := q.EnqueueWrite("/log", staged(t, dir, "second"), -1, 1, "p", false); err != nil {
		t.Fatal(err)
	}
	tr.gate <- struct{}{} // the first write only; the second stays held
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if body, _ := tr.get("/log"); body != "first" || q.Len() != 1 {
		t.Fatalf("the waiter returned with /log holding %q and %d ops queued", body, q.Len())
	}
	tr.gate <- struct{}{}
}

func (q *Queue) waitersForTest() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting
}
