package fsapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ipfs/boxo/mfs"
	"github.com/ipfs/go-cid"

	"iptf.io/node/protocol"
	"iptf.io/node/reflog"
	"iptf.io/node/staging"
	"iptf.io/node/uri"
	"iptf.io/node/writeback"
)

// Write imports the staged file (written by the plugin) and puts it at raw before it returns.
// For a meta URI the file holds a command instead, e.g. {"command": "publish"}.
func (fs *FS) Write(ctx context.Context, raw string, staged staging.File, who Caller) (*protocol.Written, error) {
	u, err := fs.writeTarget(raw, staged)
	if err != nil {
		return nil, err
	}
	if u.Namespace == uri.Meta {
		if err := fs.settleAll(ctx, u.Raw); err != nil {
			return nil, err
		}
		return fs.metaCommand(ctx, u, staged)
	}
	if err := fs.settle(ctx, u); err != nil {
		return nil, err
	}
	return fs.importAndPlace(ctx, u, staged, who, true)
}

// WriteBack queues the import of the staged file to raw and returns once the queue owns the
// file: the bytes reach the tree in the background, and every operation on raw waits for
// them. What would make the write fail later (no parent, a directory at raw) fails now.
// Without a queue, or for a meta URI, it is Write.
func (fs *FS) WriteBack(ctx context.Context, raw string, staged staging.File, who Caller) (*protocol.Written, error) {
	u, err := fs.writeTarget(raw, staged)
	if err != nil {
		return nil, err
	}
	if fs.Pending == nil || u.Namespace == uri.Meta {
		return fs.Write(ctx, raw, staged, who)
	}
	if err := fs.checkFileTarget(u); err != nil {
		return nil, err
	}
	if staged.Ahead {
		if staged, err = fs.rebaseAhead(ctx, u, staged); err != nil {
			return nil, err
		}
	}
	if !fs.roomToQueue(staged) {
		// The import might not fit once queued: import now, so that a full disk fails the
		// close (ResourceExhausted) instead of a write whose close succeeded.
		return fs.Write(ctx, raw, staged, who)
	}
	if err := fs.Pending.EnqueueWrite(u.Path, staged, fs.sizeOnceWritten(ctx, staged), who.Pid, who.Program, who.NoLog); err != nil {
		return nil, errorf(Internal, u.Raw, "%s", err)
	}
	return &protocol.Written{Uri: u.String(), Queued: true}, nil
}

// rebaseAhead puts an append staged ahead (staging.File.Ahead) after what the file holds now:
// what the writes queued for it leave there, or else its settled content (nothing, when the
// file is gone). Another writer may have changed the file since the appender's last write.
func (fs *FS) rebaseAhead(ctx context.Context, u uri.URI, staged staging.File) (staging.File, error) {
	staged.Ahead = false
	if !staged.AfterQueued || staged.Offset != 0 {
		return staged, errorf(InvalidArgument, u.Raw, "an append staged ahead follows the queued writes, from its first byte")
	}
	at, err := fs.appendPoint(ctx, u)
	switch {
	case err != nil:
		return staged, err
	case at.AfterQueued:
		staged.BaseSize = int64(at.Size)
	case at.Base != "":
		staged.AfterQueued, staged.BaseSize, staged.Base = false, 0, at.Base
	case at.Size > 0:
		return staged, errorf(FailedPrecondition, u.Raw, "has no CID to append to")
	default:
		staged.BaseSize = 0 // nothing there: the bytes are the whole file
	}
	return staged, nil
}

// appendPoint is what an appender's bytes follow at u now: the size the writes queued for it
// leave there (AfterQueued), or the settled file (Base, Size; no Base for an iptf://meta/ file),
// or nothing (a zero point: appending creates the file).
func (fs *FS) appendPoint(ctx context.Context, u uri.URI) (protocol.Staged, error) {
	if u.Namespace == uri.Repo && fs.Pending != nil {
		if size, ok := fs.Pending.SizeAfterQueue(u.Path); ok {
			return protocol.Staged{AfterQueued: true, Size: uint64(size)}, nil
		}
	}
	st, err := fs.Stat(ctx, u.Raw)
	var classified *Error
	switch {
	case errors.As(err, &classified) && classified.Code == NotFound:
		return protocol.Staged{}, nil
	case err != nil:
		return protocol.Staged{}, err
	case st.Type == protocol.TypeDirectory:
		return protocol.Staged{}, errorf(FailedPrecondition, u.Raw, "is a directory")
	}
	return protocol.Staged{Base: st.Cid, Size: st.Size}, nil
}

// queuedWrite reports whether a queued write of u says what it leaves there (an appender then
// follows it without waiting for the queue).
func (fs *FS) queuedWrite(u uri.URI) bool {
	if u.Namespace != uri.Repo || fs.Pending == nil {
		return false
	}
	_, ok := fs.Pending.SizeAfterQueue(u.Path)
	return ok
}

// StageNext hands the writer of raw, whose write is queued, a next file for its next append
// (staging.CreateNext), staged after what the queued writes leave there; nil when it cannot
// (nothing queued for raw any more, or no staging file): the appender then stages as usual.
func (fs *FS) StageNext(raw string) *protocol.Staged {
	u, err := parse(raw)
	if err != nil || u.Namespace != uri.Repo || fs.Pending == nil {
		return nil
	}
	size, ok := fs.Pending.SizeAfterQueue(u.Path)
	if !ok {
		return nil
	}
	path, err := staging.CreateNext(fs.Staging)
	if err != nil {
		return nil
	}
	fs.Ahead.Refill()
	return &protocol.Staged{Uri: u.String(), Path: path, Size: uint64(size), AfterQueued: true}
}

// Apply carries out an op from the write-back queue.
func (fs *FS) Apply(ctx context.Context, op writeback.Op) error {
	at := func(p string) uri.URI { return uri.URI{Namespace: uri.Repo, Path: p, Raw: uri.Format(uri.Repo, p)} }
	switch op.Kind {
	case writeback.Write:
		who := Caller{Pid: op.Pid, Program: op.Program, NoLog: op.NoLog, At: op.Closed}
		_, err := fs.importAndPlace(ctx, at(op.Path), op.StagedFile(), who, !op.Unflushed)
		return err
	case writeback.Move:
		err := fs.move(ctx, at(op.Path), at(op.Dst))
		var classified *Error
		if err != nil && op.Replayed && errors.As(err, &classified) && classified.Code == NotFound {
			// A node killed after renaming but before journaling it: the source is gone and
			// the destination stands. Anything else missing is still this op's failure.
			if _, lerr := fs.lookup(op.Dst); lerr == nil {
				return nil
			}
		}
		return err
	}
	return fmt.Errorf("unknown queued change %q", op.Kind)
}

// roomToQueue reports whether the repo's disk has room for the blocks of staged, of every
// write queued before it, and staging.SpaceMargin besides; spares are dropped to make room.
func (fs *FS) roomToQueue(staged staging.File) bool {
	size := staged.Size
	if size < 0 {
		st, err := os.Stat(staged.Path)
		if err != nil {
			return false
		}
		size = st.Size()
	}
	// Only the bytes after the base are imported (a flush's staged file holds the whole file).
	need := staging.ImportCost(size-staged.Offset) + staging.ImportCost(fs.Pending.QueuedBytes()) + staging.SpaceMargin
	free, err := staging.Free(fs.Staging)
	if err != nil {
		return false
	}
	if free < need {
		free += staging.DropSpares(fs.Staging)
	}
	return free >= need
}

// Stage hands a writer of raw a staging file to fill, once raw can take a file: writable,
// with a parent directory and no directory at it. The tree does not change until the file
// is handed back (Write, WriteBack), so a write that never completes leaves raw as it was.
// For an appender it also says what the new bytes follow; when the file's last write is still
// queued, that is the queued result (AfterQueued), and the appender does not wait for it.
func (fs *FS) Stage(ctx context.Context, raw string, appending bool) (*protocol.Staged, error) {
	u, err := parse(raw)
	if err != nil {
		return nil, err
	}
	if err := writable(u); err != nil {
		return nil, err
	}
	staged := &protocol.Staged{}
	if u.Namespace == uri.Repo && !(appending && fs.queuedWrite(u)) {
		if err := fs.settle(ctx, u); err != nil {
			return nil, err
		}
	}
	if u.Namespace == uri.Repo {
		if err := fs.checkFileTarget(u); err != nil {
			return nil, err
		}
	}
	if appending {
		if *staged, err = fs.appendPoint(ctx, u); err != nil {
			return nil, err
		}
	}
	staged.Uri = u.String()
	if staged.Path, err = staging.Create(fs.Staging); err != nil {
		return nil, classify(u.Raw, err)
	}
	fs.Ahead.Refill()
	return staged, nil
}

// sizeOnceWritten is the size of the file staged makes (-1 when it cannot tell cheaply).
func (fs *FS) sizeOnceWritten(ctx context.Context, staged staging.File) int64 {
	size := staged.Size
	if size < 0 {
		st, err := os.Stat(staged.Path)
		if err != nil {
			return -1
		}
		size = st.Size()
	}
	size -= staged.Offset
	switch {
	case staged.AfterQueued:
		return staged.BaseSize + size
	case staged.Base == "":
		return size
	}
	c, err := cid.Decode(staged.Base)
	if err != nil {
		return -1
	}
	nd, err := fs.Node.DAG.Get(ctx, c)
	if err != nil {
		return -1
	}
	_, baseSize, err := describe(staged.Base, nd)
	if err != nil {
		return -1
	}
	return int64(baseSize) + size
}

// writeTarget parses the URI a staged file is written to, and checks that the staged file is
// one of the repo's staging files (the node never takes over any other file).
func (fs *FS) writeTarget(raw string, staged staging.File) (uri.URI, error) {
	u, err := parse(raw)
	if err != nil {
		return u, err
	}
	if err := writable(u); err != nil {
		return u, err
	}
	if err := staging.Check(fs.Staging, staged.Path); err != nil {
		return u, errorf(InvalidArgument, u.Raw, "%s", err)
	}
	if staged.HasBase() && u.Namespace == uri.Meta {
		return u, errorf(InvalidArgument, u.Raw, "a command to a meta path has no base")
	}
	if staged.AfterQueued && (staged.Base != "" || staged.BaseSize < 0) {
		return u, errorf(InvalidArgument, u.Raw, "a write after the queued ones takes a base size and no base CID")
	}
	return u, nil
}

// checkFileTarget reports why a file could not be put at u: no parent, or a directory there.
func (fs *FS) checkFileTarget(u uri.URI) error {
	dir, name, err := fs.parentDir(u)
	if err != nil {
		return err
	}
	if old, err := dir.Child(name); err == nil && old.Type() == mfs.TDir {
		return errorf(FailedPrecondition, u.Raw, "is a directory")
	}
	return nil
}

// baseNow turns a write after the queued ones into a write after the file now at u, once
// those are applied: the file must be the BaseSize bytes the appender started from.
func (fs *FS) baseNow(ctx context.Context, u uri.URI, staged staging.File) (staging.File, error) {
	fs.tree.Lock()
	fsn, err := fs.lookup(u.Path)
	fs.tree.Unlock()
	staged.AfterQueued = false
	if errors.Is(err, os.ErrNotExist) && staged.BaseSize == 0 {
		return staged, nil // the queued writes left nothing: the bytes are the whole file
	}
	if err != nil {
		return staged, errorf(FailedPrecondition, u.Raw, "was removed while being appended to")
	}
	nd, err := fsn.GetNode()
	if err != nil {
		return staged, classify(u.Raw, err)
	}
	kind, size, err := describe(u.Raw, nd)
	if err != nil {
		return staged, err
	}
	if kind != protocol.TypeFile {
		return staged, errorf(FailedPrecondition, u.Raw, "became a directory while being appended to")
	}
	if int64(size) != staged.BaseSize {
		return staged, errorf(FailedPrecondition, u.Raw,
			"changed while being appended to: it holds %d bytes, not the %d the appender started after", size, staged.BaseSize)
	}
	staged.Base = nd.Cid().String()
	return staged, nil
}

// importAndPlace imports staged as `iptf add` would and puts the result at u.
func (fs *FS) importAndPlace(ctx context.Context, u uri.URI, staged staging.File, who Caller,
	persist bool) (*protocol.Written, error) {
	if _, _, err := fs.parentDir(u); err != nil {
		return nil, err
	}
	if staged.AfterQueued {
		var err error
		if staged, err = fs.baseNow(ctx, u, staged); err != nil {
			return nil, err
		}
	}
	unlock := fs.Node.Blockstore.PinLock(ctx) // keep GC off the new blocks until they are linked
	defer unlock.Unlock(ctx)
	c, err := fs.importStaged(ctx, staged)
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	nd, err := fs.Node.DAG.Get(ctx, c)
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	fs.tree.Lock()
	err = fs.place(ctx, u, nd, persist)
	fs.tree.Unlock()
	if err != nil {
		return nil, err
	}
	fs.supersede(u)
	_, size, _ := describe(u.Raw, nd)
	fs.record(reflog.Write, u, c.String(), size, who)
	return &protocol.Written{Uri: u.String(), Cid: c.String(), Size: size}, nil
}

// Move renames src to dst inside the writable tree, replacing a file at dst. A file still
// queued for the tree is renamed in the queue, after its write, without waiting for it.
func (fs *FS) Move(ctx context.Context, rawSrc, rawDst string) error {
	src, err := parse(rawSrc)
	if err != nil {
		return err
	}
	dst, err := parse(rawDst)
	if err != nil {
		return err
	}
	for _, u := range []uri.URI{src, dst} {
		if u.Namespace != uri.Repo {
			return errorf(PermissionDenied, u.Raw, "only paths under iptf://repo/root/ can be renamed")
		}
	}
	if fs.Pending != nil && src.Path != dst.Path && fs.Pending.Queued(src.Path) {
		if err := fs.checkFileTarget(dst); err != nil {
			return err
		}
		queued, err := fs.Pending.EnqueueMoveOfQueued(src.Path, dst.Path)
		if err != nil {
			return errorf(Internal, src.Raw, "%s", err)
		}
		if queued {
			return nil
		}
	}
	if err := fs.settle(ctx, src); err != nil {
		return err
	}
	if err := fs.failedWrite(src); err != nil {
		return err
	}
	if err := fs.settle(ctx, dst); err != nil {
		return err
	}
	return fs.move(ctx, src, dst)
}

func (fs *FS) move(ctx context.Context, src, dst uri.URI) error {
	fs.tree.Lock()
	defer fs.tree.Unlock()
	_, srcName, node, err := fs.existing(src)
	if err != nil {
		return err
	}
	if src.Path == dst.Path {
		return nil
	}
	if strings.HasPrefix(dst.Path+"/", src.Path+"/") {
		return errorf(InvalidArgument, dst.Raw, "cannot move a directory into itself")
	}
	dstDir, dstName, err := fs.parentDir(dst)
	if err != nil {
		return err
	}
	if old, err := dstDir.Child(dstName); err == nil {
		if old.Type() == mfs.TDir {
			return errorf(FailedPrecondition, dst.Raw, "is a directory")
		}
		if node.Type() == mfs.TDir {
			return errorf(FailedPrecondition, dst.Raw, "is a file; cannot replace it with a directory")
		}
	}
	nd, err := node.GetNode()
	if err != nil {
		return classify(src.Raw, err)
	}
	if err := fs.place(ctx, dst, nd, true); err != nil {
		return err
	}
	fs.supersede(dst)
	// Flushing dst's parent can replace cached directory objects: look src's parent up again.
	srcDir, _, err := fs.parentDir(src)
	if err != nil {
		return err
	}
	if err := fs.unlink(ctx, src, srcDir, srcName); err != nil {
		return err
	}
	if fs.Reflog != nil {
		if err := fs.Reflog.RecordMove(src.String(), dst.String()); err != nil {
			log.Errorf("reflog: %s", err)
		}
	}
	return nil
}
