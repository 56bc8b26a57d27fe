// Package writeback applies files that writers have closed to the writable tree in the
// background, in the order they were closed, so that closing a file costs what closing a
// local file costs. Every other operation on the tree first waits for the queued changes
// that touch its paths, so readers never see the tree without a write that was closed
// before they asked. The queue is journaled: changes still queued when the node stops are
// applied when it next runs.
package writeback

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	logging "github.com/ipfs/go-log/v2"

	"iptf.io/node/staging"
)

var log = logging.Logger("iptf/writeback")

// ErrStopped is what waiting for a queued op returns once the node stops applying them.
var ErrStopped = errors.New("the node is stopping; the queued writes are applied when it next runs")

// Kind is what an Op does.
type Kind string

// Kinds of queued changes.
const (
	Write Kind = "write" // import the staged file and put it at Path
	Move  Kind = "move"  // rename the file at Path to Dst

	// Damaged stands, in failures, for a journal line that could not be decoded: it was moved
	// to the quarantine file named by Staged, and the rest of the queue applied.
	Damaged Kind = "damaged journal entry"
)

// Op is one queued change to the tree. Paths are paths in the tree ("/a/b").
type Op struct {
	Seq    uint64 `json:"seq"`
	Kind   Kind   `json:"kind"`
	Path   string `json:"path"`
	Dst    string `json:"dst,omitempty"`
	Staged string `json:"staged,omitempty"` // Write: the local file holding the bytes
	Size   *int64 `json:"size,omitempty"`   // Write: how many of its first bytes are content (nil: all)
	Base   string `json:"base,omitempty"`   // Write: CID whose content the staged bytes follow
	Offset int64  `json:"offset,omitempty"` // Write: where the bytes after the base start in Staged
	// Write: the base is what the ops before this one leave at Path, BaseSize bytes long.
	AfterQueued bool  `json:"after_queued,omitempty"`
	BaseSize    int64 `json:"base_size,omitempty"`
	// Write: the file's size once the op is applied, when known as it was queued.
	Total *int64 `json:"total,omitempty"`
	// Write: a flush; its writer keeps writing Staged (the queue reads its first Size bytes
	// and neither recycles nor deletes it: the writer's close hands it over).
	Keep bool `json:"keep,omitempty"`

	Pid     int       `json:"pid,omitempty"` // who wrote it, for the reflog
	Program string    `json:"program,omitempty"`
	NoLog   bool      `json:"nolog,omitempty"`
	Closed  time.Time `json:"closed,omitempty"` // Write: when the writer closed the file
	// Replayed: the op comes from the journal of a node that stopped before marking it done,
	// so it may have been applied already (a node killed between the change and the mark).
	Replayed bool `json:"-"`
	// Unflushed: the op is one of a batch of writes, after which the queue persists the tree
	// once (see Flush); the applier changes the tree without persisting it.
	Unflushed bool `json:"-"`
}

// StagedFile is a Write's staged content.
func (op Op) StagedFile() staging.File {
	f := staging.File{Path: op.Staged, Size: staging.Whole, Base: op.Base, Offset: op.Offset,
		AfterQueued: op.AfterQueued, BaseSize: op.BaseSize, Kept: op.Keep}
	if op.Size != nil {
		f.Size = *op.Size
	}
	return f
}

// touches reports whether the op changes p, something under p, or a parent of p.
func (op Op) touches(p string) bool {
	return overlap(op.Path, p) || op.Dst != "" && overlap(op.Dst, p)
}

// overlap reports whether one of two tree paths is the other or inside it.
func overlap(a, b string) bool {
	if a == b || a == "/" || b == "/" {
		return true
	}
	return strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// Apply carries out one op on the tree.
type Apply func(ctx context.Context, op Op) error

// Flush persists the tree's directories dirs (tree paths) and their parents after a batch of
// writes applied Unflushed.
type Flush func(ctx context.Context, dirs []string) error

// maxBatch bounds the writes applied before the tree is persisted once for all of them.
// Persisting a directory costs in proportion to its size (a sharded one is encoded whole), so
// one write at a time costs more as a folder fills; a queue that falls behind catches up by
// persisting once per batch of what it holds.
const maxBatch = 256

// Pacing: after a batch whose flush took F, the queue gathers writes for flushGap×F (at most
// maxFlushGap) before it applies the next batch, unless someone waits for a queued op or a
// full batch is there. Persisting a folder of n entries costs O(n) and holds the folder while
// it runs, so flushing as often as writers close files would give a filling folder's writers
// less and less time; paced, the flushes take at most 1/(1+flushGap) of the time whatever the
// folder's size, and the batches grow with it.
const (
	flushGap    = 3
	maxFlushGap = 250 * time.Millisecond
)

// Bursts: a queue woken from idle waits until its writers pause (no op queued for burstGap),
// at most maxBurst, before it applies anything, unless a full batch is there or someone waits
// for a queued op. On a machine of few cores an import running while a writer keeps closing
// files (appends to a log, a loop of small writes) takes the core that writer's next close
// needs; run once the burst is over, the same imports do not slow it. The bytes are staged and
// journaled before a close returns, so waiting loses nothing; readers do not wait for it.
const (
	burstGap = 20 * time.Millisecond
	maxBurst = time.Second
)

// burstTimes are a queue's burstGap and maxBurst (tests lengthen them).
type burstTimes struct{ gap, max time.Duration }

// Queue holds the changes not yet applied and applies them one at a time.
type Queue struct {
	dir     string // the staging directory: journal, failures, staged files
	apply   Apply
	flush   Flush // nil: each op persists the tree itself
	journal *journal
	busy    func() (done func()) // marks the node busy while an op is applied
	stopped chan struct{}        // closed once the queue has stopped applying (its ctx ended)

	mu       sync.Mutex
	ops      []Op          // queued, in order; ops[0] may be being applied
	changed  chan struct{} // closed and replaced whenever an op leaves the queue
	wake     chan struct{}
	nextSeq  uint64
	waiting  int           // WaitFor calls waiting on the current changed channel
	hurry    chan struct{} // signalled when a WaitFor starts waiting
	flushed  time.Duration // how long the last batch's flush took
	pushed   time.Time     // when the last op was queued
	burst    burstTimes
	failures []Failure
	// unrecorded are the sequence numbers of failed ops whose failure could not be written to
	// disk: the journal keeps them queued until it can.
	unrecorded []uint64
}

// Open starts the queue of the tree whose staging directory is dir, queueing again the
// changes its journal holds from an earlier run. busy, if set, is called around each op.
func Open(ctx context.Context, dir string, apply Apply, busy func() func()) (*Queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	j, left, damaged, err := openJournal(dir)
	if err != nil {
		return nil, err
	}
	failed, err := loadFailures(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the failed writes: %w", err)
	}
	q := &Queue{dir: dir, apply: apply, journal: j, busy: busy, changed: make(chan struct{}),
		wake: make(chan struct{}, 1), hurry: make(chan struct{}, 1), burst: burstTimes{burstGap, maxBurst},
		stopped:  make(chan struct{}),
		failures: append(damaged, failed...)}
	for _, f := range damaged {
		log.Errorf("write-back journal: %s", f.Why)
	}
	for _, op := range left { // already in the journal
		op.Replayed = true
		q.ops = append(q.ops, op)
		q.nextSeq = max(q.nextSeq, op.Seq)
	}
	if len(left) > 0 {
		log.Infof("applying %d changes queued before the node last stopped", len(left))
	}
	go q.run(ctx)
	return q, nil
}

// EnqueueWrite queues the import of staged to path; the queue owns the staged file from now
// on, and keeps it as a spare once imported (package staging). total is the file's size once
// the write is applied (negative when unknown).
func (q *Queue) EnqueueWrite(path string, staged staging.File, total int64, pid int, program string, noLog bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	op := Op{Kind: Write, Path: path, Staged: staged.Path, Base: staged.Base, Offset: staged.Offset,
		AfterQueued: staged.AfterQueued, BaseSize: staged.BaseSize, Keep: staged.Kept, Pid: pid, Program: program,
		NoLog: noLog, Closed: time.Now().UTC()}
	if staged.Size >= 0 {
		op.Size = &staged.Size
	}
	if total >= 0 {
		op.Total = &total
	}
	return q.push(op)
}

// SizeAfterQueue is the size of the file the queued ops leave at p, when the last of them to
// touch p is a write of p whose size is known: an appender can start from it without waiting.
func (q *Queue) SizeAfterQueue(p string) (int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := len(q.ops) - 1; i >= 0; i-- {
		op := q.ops[i]
		if !op.touches(p) {
			continue
		}
		if op.Kind == Write && op.Path == p && op.Total != nil {
			return *op.Total, true
		}
		return 0, false
	}
	return 0, false
}

// EnqueueMoveOfQueued queues renaming src to dst when the file at src is itself still being
// written by a queued op, and reports whether it did. Otherwise the caller renames now.
func (q *Queue) EnqueueMoveOfQueued(src, dst string) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.queued(src) {
		return false, nil
	}
	err := q.push(Op{Kind: Move, Path: src, Dst: dst})
	return err == nil, err
}

// Queued reports whether a file is being written at p by a queued op.
func (q *Queue) Queued(p string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued(p)
}

// queued reports whether the last queued op touching p leaves a file at p.
func (q *Queue) queued(p string) bool {
	for i := len(q.ops) - 1; i >= 0; i-- {
		op := q.ops[i]
		switch {
		case op.Kind == Write && op.Path == p, op.Kind == Move && op.Dst == p:
			return true
		case op.touches(p):
			return false
		}
	}
	return false
}

func (q *Queue) push(op Op) error {
	q.nextSeq++
	op.Seq = q.nextSeq
	if err := q.journal.add(op); err != nil {
		return fmt.Errorf("journaling the write-back queue: %w", err)
	}
	q.ops = append(q.ops, op)
	q.pushed = time.Now()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// WaitFor returns once no op queued before the call touches any of paths (or ctx ends).
func (q *Queue) WaitFor(ctx context.Context, paths ...string) error {
	q.mu.Lock()
	asked := q.nextSeq // ops queued later are not waited for: a writer that keeps flushing cannot starve readers
	q.mu.Unlock()
	for {
		q.mu.Lock()
		pending := false
		for _, op := range q.ops {
			for _, p := range paths {
				pending = pending || op.Seq <= asked && op.touches(p)
			}
		}
		changed := q.changed
		if pending {
			q.waiting++ // until changed is closed, which counts the waiters afresh
		}
		q.mu.Unlock()
		if !pending {
			return nil
		}
		select {
		case q.hurry <- struct{}{}:
		default:
		}
		select {
		case <-changed:
		case <-q.stopped:
			return ErrStopped
		case <-ctx.Done():
			q.mu.Lock()
			if q.changed == changed {
				q.waiting--
			}
			q.mu.Unlock()
			return ctx.Err()
		}
	}
}

// Len is the number of ops not yet applied.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ops)
}

// Owns reports whether the queue has taken over the staged file at path: a write not yet
// applied, or one that failed (its bytes are kept).
func (q *Queue) Owns(path string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, op := range q.ops {
		if op.Staged == path {
			return true
		}
	}
	for _, f := range q.failures {
		if f.Op.Staged == path {
			return true
		}
	}
	return false
}

// Failures lists the ops that could not be applied since the node started.
func (q *Queue) Failures() []Failure {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Failure(nil), q.failures...)
}

// BatchWrites makes the queue apply the writes at its head in batches, Unflushed, and persist
// the tree once per batch with flush.
func (q *Queue) BatchWrites(flush Flush) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.flush = flush
}

// Stopped is closed once the queue has stopped applying changes, after the context it was
// opened with ended: no op is being applied then, and what is left stays in the journal.
func (q *Queue) Stopped() <-chan struct{} { return q.stopped }

func (q *Queue) run(ctx context.Context) {
	defer close(q.stopped)
	waited := false // the ops there have waited out their burst
	for {
		batch := q.nextBatch()
		switch {
		case ctx.Err() != nil:
			return // the journal keeps what is left for the next run
		case len(batch) == 0:
			select {
			case <-q.wake:
			case <-ctx.Done():
			}
		case !waited && q.inBurst():
			q.waitOutBurst(ctx)
			waited = true
		default:
			waited = false
			q.applyBatch(ctx, batch)
			q.gather(ctx)
		}
	}
}

// inBurst reports whether an op was queued less than burstGap ago.
func (q *Queue) inBurst() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return time.Since(q.pushed) < q.burst.gap
}

// waitOutBurst waits until no op has been queued for burstGap (see burstGap), at most
// maxBurst, or until a full batch is queued, someone waits for a queued op, or ctx ends.
func (q *Queue) waitOutBurst(ctx context.Context) {
	q.mu.Lock()
	burst := q.burst
	q.mu.Unlock()
	end := time.NewTimer(burst.max)
	defer end.Stop()
	pause := time.NewTimer(burst.gap)
	defer func() { pause.Stop() }()
	for {
		if q.enough() {
			return
		}
		select {
		case <-pause.C:
			return
		case <-end.C:
			return
		case <-ctx.Done():
			return
		case <-q.hurry:
		case <-q.wake: // another op: the pause starts again
			pause.Stop()
			pause = time.NewTimer(burst.gap)
		}
	}
}

// enough reports whether the queue holds a full batch or someone waits for a queued op.
func (q *Queue) enough() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ops) >= maxBatch || q.waiting > 0
}

// gather waits, after a batch, for the writes of the next one: flushGap times as long as the
// last flush took (see flushGap), or until a full batch is queued, someone waits for a queued
// op, or ctx ends.
func (q *Queue) gather(ctx context.Context) {
	q.mu.Lock()
	gap := min(flushGap*q.flushed, maxFlushGap)
	q.mu.Unlock()
	if gap <= 0 {
		return
	}
	timer := time.NewTimer(gap)
	defer timer.Stop()
	for {
		if q.enough() {
			return
		}
		select {
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		case <-q.hurry:
		case <-q.wake:
		}
	}
}

// nextBatch is the op at the head of the queue or, when writes are batched, the writes there
// (up to maxBatch, stopping at a move).
func (q *Queue) nextBatch() []Op {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ops) == 0 {
		return nil
	}
	if q.flush == nil || q.ops[0].Kind != Write {
		return q.ops[:1:1]
	}
	n := 1
	for n < len(q.ops) && n < maxBatch && q.ops[n].Kind == Write {
		n++
	}
	return append([]Op(nil), q.ops[:n]...)
}

// applyBatch applies ops, the head of the queue, in order; writes of a batch are persisted
// together at its end, and only then journaled done.
func (q *Queue) applyBatch(ctx context.Context, ops []Op) {
	if q.busy != nil {
		defer q.busy()()
	}
	batched := len(ops) > 1 || q.flush != nil && ops[0].Kind == Write
	errs := make([]error, len(ops))
	abandoned := make([]bool, len(ops))
	var dirs []string
	for i, op := range ops {
		abandoned[i] = op.Replayed && op.Kind == Write && !exists(op.Staged)
		if abandoned[i] {
			// Journaled by a node killed while answering the close, whose writer therefore saw
			// the close fail and removed its staged file: nobody was told this write happened.
			log.Infof("dropping the queued write of %s: its close failed and its writer removed %s", op.Path, op.Staged)
			continue
		}
		op.Unflushed = batched
		errs[i] = q.apply(ctx, op)
		if errs[i] != nil && ctx.Err() != nil {
			return // stopping: the journal keeps the ops for the next run
		}
		if errs[i] == nil && batched {
			dirs = append(dirs, path.Dir(op.Path))
		}
	}
	if len(dirs) > 0 {
		started := time.Now()
		err := q.flush(ctx, dirs)
		q.mu.Lock()
		q.flushed = time.Since(started)
		q.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			for i := range ops {
				if errs[i] == nil && !abandoned[i] {
					errs[i] = err
				}
			}
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, op := range ops {
		q.finish(op, errs[i], abandoned[i])
	}
	close(q.changed)
	q.changed = make(chan struct{})
	q.waiting = 0 // every waiter wakes, and counts itself again if it still waits
}

// finish records how op went, takes it off the head of the queue and journals it done. The
// caller holds q.mu.
func (q *Queue) finish(op Op, err error, abandoned bool) {
	if err != nil {
		log.Errorf("could not apply the queued %s of %s: %s", op.Kind, op.Path, err)
		if op.Kind == Write {
			log.Errorf("the bytes written to %s are kept in %s", op.Path, op.Staged)
		}
	}
	recorded := true
	switch {
	case abandoned:
	case err != nil:
		q.failures = append(q.failures, newFailure(op, err))
		if recorded = q.saveFailures(); !recorded {
			// The failure is not on disk (the disk that failed the op may be full): the op
			// stays in the journal, so a node killed now applies it again, or records it then.
			q.unrecorded = append(q.unrecorded, op.Seq)
		}
	case op.Kind == Write:
		q.supersede(op.Path)
	case op.Kind == Move:
		q.supersede(op.Dst)
	}
	q.ops = q.ops[1:]
	if recorded {
		q.journalDone(op.Seq)
	}
	if err == nil && op.Kind == Write && !abandoned && !op.Keep {
		// The staged file is given up only once the journal says the write is done: a node
		// killed before that applies the write again, from the same file. A flush's file is
		// still its writer's.
		if rmErr := staging.Recycle(op.Staged); rmErr != nil && !os.IsNotExist(rmErr) {
			log.Warnf("recycling the staged file %s: %s", op.Staged, rmErr)
		}
	}
}

// FailureAt returns the failure that stands for the content of tree path p, if any: the last
// queued change to p could not be applied, so p does not hold what was closed.
func (q *Queue) FailureAt(p string) (Failure, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := len(q.failures) - 1; i >= 0; i-- {
		if q.failures[i].Blocks(p) {
			return q.failures[i], true
		}
	}
	return Failure{}, false
}

// Supersede records that tree path p was written or removed since a failed change to it: the
// failure no longer stands for p's content (its bytes stay until discarded).
func (q *Queue) Supersede(p string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.supersede(p)
}

func (q *Queue) supersede(p string) {
	changed := false
	for i := range q.failures {
		if q.failures[i].Blocks(p) {
			q.failures[i].Superseded = true
			changed = true
		}
	}
	if changed {
		q.saveFailures()
	}
}

// Retry queues again the failed writes and moves at the given tree paths whose staged bytes
// still exist, and returns them. With no path it retries every failure that still stands for
// its path's content: one superseded by a later write is retried only when named, so a
// blanket retry never puts older bytes over newer ones.
func (q *Queue) Retry(paths ...string) ([]Failure, error) {
	want := func(f Failure) bool {
		return f.Op.Kind != Damaged && matches(f, paths) && !(f.Superseded && len(paths) == 0)
	}
	return q.handleFailures(want, func(f Failure) error {
		if f.Op.Kind == Write {
			if _, err := os.Stat(f.Op.Staged); err != nil {
				return fmt.Errorf("%s: its staged bytes are gone: %w", f.Op.Path, err)
			}
		}
		return q.push(f.Op)
	})
}

// Discard forgets the failures at the given tree paths (all when none is given) and deletes
// their staged bytes; for damaged journal lines, the quarantine file.
func (q *Queue) Discard(paths ...string) ([]Failure, error) {
	want := func(f Failure) bool { return matches(f, paths) }
	return q.handleFailures(want, func(f Failure) error {
		if f.Op.Staged == "" || f.Op.Keep {
			return nil // a flush's file is its writer's, and its later writes read it too
		}
		if err := os.Remove(f.Op.Staged); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	})
}

// handleFailures runs act on each failure want selects, under the queue's lock: those it
// handles leave the list, the others (and those act fails on) stay. It returns the handled
// failures and act's errors.
func (q *Queue) handleFailures(want func(Failure) bool, act func(Failure) error) ([]Failure, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var handled, kept []Failure
	var errs []error
	for _, f := range q.failures {
		if !want(f) {
			kept = append(kept, f)
			continue
		}
		if err := act(f); err != nil {
			errs = append(errs, err)
			kept = append(kept, f)
			continue
		}
		handled = append(handled, f)
	}
	q.failures = kept
	q.saveFailures()
	return handled, errors.Join(errs...)
}

// matches reports whether a failure concerns one of paths (every failure when none is given).
func matches(f Failure, paths []string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, p := range paths {
		if f.Op.Path == p || f.Op.Kind == Move && f.Op.Dst == p {
			return true
		}
	}
	return false
}

// QueuedBytes is the size of the staged content of the writes not yet applied: what their
// imports will still add to the blockstore.
func (q *Queue) QueuedBytes() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	var total int64
	for _, op := range q.ops {
		if op.Kind != Write {
			continue
		}
		if op.Size != nil {
			total += *op.Size - op.Offset // the bytes before Offset follow a base, imported already
		} else if st, err := os.Stat(op.Staged); err == nil {
			total += st.Size() - op.Offset
		}
	}
	return total
}

// saveFailures writes the list of failures to disk and reports whether it could; once it is
// there, the journal lets go of the failed ops it kept until then.
func (q *Queue) saveFailures() bool {
	if err := saveFailures(q.dir, q.failures); err != nil {
		log.Errorf("recording the failed writes: %s", err)
		return false
	}
	kept := q.unrecorded
	q.unrecorded = nil
	for _, seq := range kept {
		q.journalDone(seq)
	}
	return true
}

// journalDone marks op seq done in the journal, emptying it when no op is left in it.
func (q *Queue) journalDone(seq uint64) {
	if err := q.journal.done(seq, len(q.ops) == 0 && len(q.unrecorded) == 0); err != nil {
		log.Errorf("journaling the write-back queue: %s", err)
	}
}

// exists reports whether a file is at path (an error other than its absence counts as there).
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
