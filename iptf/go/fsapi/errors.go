// Package fsapi is the filesystem the TensorFlow plugin sees: stat, list, open (where the
// bytes are), write, mkdir, remove, move, copy and glob over iptf:// URIs, with errors
// classified the way TensorFlow classifies them.
package fsapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/ipfs/boxo/mfs"
	ipld "github.com/ipfs/go-ipld-format"

	"iptf.io/node/blockmap"
	"iptf.io/node/uri"
)

// Code is a TensorFlow error class.
type Code string

// The classes the plugin maps to TF_Code values of the same names.
const (
	NotFound           Code = "NotFound"
	PermissionDenied   Code = "PermissionDenied"
	AlreadyExists      Code = "AlreadyExists"
	FailedPrecondition Code = "FailedPrecondition"
	InvalidArgument    Code = "InvalidArgument"
	OutOfRange         Code = "OutOfRange"
	ResourceExhausted  Code = "ResourceExhausted"
	Unavailable        Code = "Unavailable"
	Internal           Code = "Internal"
)

// Error is a classified error; its text is "<Code>: <uri>: <why>".
type Error struct {
	Code Code
	URI  string
	Why  string
}

func (e *Error) Error() string {
	if e.URI == "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Why)
	}
	return fmt.Sprintf("%s: %s: %s", e.Code, e.URI, e.Why)
}

// ErrorCode names the error's class (see writeback.Coded: failed queued writes keep it).
func (e *Error) ErrorCode() string { return string(e.Code) }

func errorf(code Code, u string, format string, args ...any) *Error {
	return &Error{Code: code, URI: u, Why: fmt.Sprintf(format, args...)}
}

// classify turns an error from kubo or boxo into a classified one about the URI.
func classify(raw string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ue *uri.Error
	if errors.As(err, &ue) {
		return &Error{Code: InvalidArgument, URI: ue.Raw, Why: ue.Why}
	}
	msg := err.Error()
	switch {
	case noSpace(err):
		return errorf(ResourceExhausted, raw, "no space left on the repo's disk (%s)", msg)
	case errors.Is(err, blockmap.ErrNotUnixFS):
		return errorf(InvalidArgument, raw, "%s", msg)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return errorf(Unavailable, raw, "content not retrievable in time (%s)", msg)
	case errors.Is(err, mfs.ErrNotExist), ipld.IsNotFound(err),
		strings.Contains(msg, "no link named"), strings.Contains(msg, "does not exist"),
		strings.Contains(msg, "not found"), strings.Contains(msg, "could not resolve name"):
		return errorf(NotFound, raw, "no such file or directory")
	case strings.Contains(msg, "LookupBySegment"), strings.Contains(strings.ToLower(msg), "not a directory"):
		// mfs.Lookup says "cannot access a/b: Not a directory" (no sentinel error to test for).
		return errorf(FailedPrecondition, raw, "a parent is not a directory")
	case strings.Contains(msg, "invalid path"), strings.Contains(msg, "invalid cid"),
		strings.Contains(msg, "selected encoding not supported"), strings.Contains(msg, "multihash"):
		return errorf(InvalidArgument, raw, "%s", msg)
	case errors.Is(err, mfs.ErrDirExists):
		return errorf(AlreadyExists, raw, "already exists")
	}
	return errorf(Internal, raw, "%s", msg)
}

// noSpace reports whether err comes from a full disk. kubo's add command hands its errors on
// as text, so the errno's own message is looked for where the error value did not survive.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		strings.Contains(err.Error(), syscall.ENOSPC.Error())
}
