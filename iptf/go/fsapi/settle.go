// Settling: operations on the tree wait for the queued writes that touch their paths, and a
// path whose queued write failed reports that failure.

package fsapi

import (
	"context"
	"strings"
	"time"

	"iptf.io/node/uri"
	"iptf.io/node/writeback"
)

// parseSettled parses raw and, for a path in the tree, waits until the queued writes that
// touch it are applied.
func (fs *FS) parseSettled(ctx context.Context, raw string) (uri.URI, error) {
	u, err := parse(raw)
	if err != nil {
		return u, err
	}
	if err := fs.settle(ctx, u); err != nil {
		return u, err
	}
	return u, fs.failedWrite(u)
}

// failedWrite reports a queued change to u's path that could not be applied: the path then
// does not hold what its writer closed, and saying so beats serving the older content.
func (fs *FS) failedWrite(u uri.URI) error {
	if fs.Pending == nil || u.Namespace != uri.Repo {
		return nil
	}
	f, failed := fs.Pending.FailureAt(u.Path)
	if !failed {
		return nil
	}
	code := FailedPrecondition
	if c := Code(f.Code); c == ResourceExhausted || c == Unavailable {
		code = c
	}
	what := "the write closed at " + f.Op.Closed.Format(time.RFC3339)
	if f.Op.Kind == writeback.Move {
		what = "the rename from " + uri.Format(uri.Repo, f.Op.Path)
	}
	kept := ""
	if f.Op.Staged != "" {
		kept = "; its bytes are kept in " + f.Op.Staged
	}
	return errorf(code, u.Raw, "%s was not applied (%s)%s: `iptf writeback retry` applies it again, "+
		"`iptf writeback discard` drops it", what, strings.TrimPrefix(f.Why, string(f.Code)+": "), kept)
}

// supersede records that u's path was changed again: an earlier failed write to it no
// longer stands for its content.
func (fs *FS) supersede(u uri.URI) {
	if fs.Pending != nil && u.Namespace == uri.Repo {
		fs.Pending.Supersede(u.Path)
	}
}

// settleAll waits until every queued write is applied (raw names the operation in errors).
func (fs *FS) settleAll(ctx context.Context, raw string) error {
	return fs.settle(ctx, uri.URI{Namespace: uri.Repo, Path: "/", Raw: raw})
}

// settle waits until the queued writes touching u's path in the tree are applied.
func (fs *FS) settle(ctx context.Context, u uri.URI) error {
	if fs.Pending == nil || u.Namespace != uri.Repo && u.Namespace != uri.Meta {
		return nil
	}
	if err := fs.Pending.WaitFor(ctx, u.Path); err != nil {
		return errorf(Unavailable, u.Raw, "waiting for earlier writes to be applied: %s", err)
	}
	return nil
}
