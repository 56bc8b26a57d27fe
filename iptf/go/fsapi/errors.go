// Errors: the classes of TensorFlow every failure leaving the node carries, decided here once.

package fsapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	unixfsio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/boxo/mfs"
	"github.com/ipfs/boxo/namesys"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/boxo/path/resolver"
	"github.com/ipfs/boxo/verifcid"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	coreiface "github.com/ipfs/kubo/core/coreiface"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/linking"
	"github.com/libp2p/go-libp2p/core/routing"
	mh "github.com/multiformats/go-multihash"

	"iptf.io/node/blockmap"
	"iptf.io/node/fetch"
	"iptf.io/node/offlinedns"
	"iptf.io/node/reflog"
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

// errUnderFile is what fs.lookup answers for a path that runs under a file ("f/x" where f is a
// file): mfs.Lookup says so only in its text.
var errUnderFile = errors.New("a parent is not a directory")

// Classify turns any error into a classified one about the URI raw ("" for none). An error
// that is already classified keeps its class; the others are classified by what they are
// (errors.Is and errors.As on the values and types kubo, boxo and the IPLD libraries
// export), never by their text, so that an upgrade that rewords a message cannot reclassify it.
func Classify(raw string, err error) *Error {
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
	switch code := codeOf(err); code {
	case Unavailable:
		if errors.Is(err, coreiface.ErrOffline) {
			return errorf(code, raw, "%s", msg)
		}
		return errorf(code, raw, "content not retrievable in time (%s)", msg)
	case NotFound:
		return errorf(code, raw, "no such file or directory")
	case FailedPrecondition:
		if isUnderFile(err) {
			return errorf(code, raw, "a parent is not a directory")
		}
		return errorf(code, raw, "%s", msg)
	case AlreadyExists:
		return errorf(code, raw, "already exists")
	case ResourceExhausted:
		return errorf(code, raw, "no space left on the repo's disk (%s)", msg)
	default:
		return errorf(code, raw, "%s", msg)
	}
}

// classify is Classify as an error (nil for nil).
func classify(raw string, err error) error {
	if err == nil {
		return nil
	}
	return Classify(raw, err)
}

// codeOf is the class of an error from the libraries the node is made of.
func codeOf(err error) Code {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, coreiface.ErrOffline),
		errors.Is(err, offlinedns.ErrOffline): // a DNSLink name asked of an offline node
		return Unavailable
	case noSpace(err):
		return ResourceExhausted
	case isNotFound(err), errors.Is(err, reflog.ErrNoEntry):
		return NotFound
	case errors.Is(err, fetch.ErrNotRetrieved):
		return Unavailable
	case isNotADirectory(err):
		return FailedPrecondition
	case isInvalid(err):
		return InvalidArgument
	case errors.Is(err, mfs.ErrDirExists), errors.Is(err, os.ErrExist):
		return AlreadyExists
	case errors.Is(err, os.ErrPermission):
		return PermissionDenied
	}
	return Internal
}

// isNotFound: a name missing from a directory, a block the node does not have, a name that
// does not resolve.
func isNotFound(err error) bool {
	var noLink *resolver.ErrNoLink
	var noKey datamodel.ErrNotExists
	return errors.Is(err, os.ErrNotExist) || // mfs.Directory.Child, unixfs directories' Find
		errors.Is(err, mfs.ErrNotExist) ||
		ipld.IsNotFound(err) ||
		errors.As(err, &noLink) ||
		errors.As(err, &noKey) || // a path segment missing from a map or list (dag-cbor, dag-json)
		errors.Is(err, merkledag.ErrLinkNotFound) ||
		errors.Is(err, namesys.ErrResolveFailed) ||
		errors.Is(err, routing.ErrNotFound)
}

// isNotADirectory: a file, or a node that is no map or list, used as a directory; a directory
// used as a file.
func isNotADirectory(err error) bool {
	return isUnderFile(err) ||
		errors.Is(err, unixfsio.ErrNotADir) ||
		errors.Is(err, unixfsio.ErrIsDir) || errors.Is(err, coreiface.ErrIsDir) ||
		errors.Is(err, coreiface.ErrNotFile) ||
		errors.Is(err, mfs.ErrIsDirectory)
}

// isUnderFile: a path that runs under a file.
func isUnderFile(err error) bool {
	var wrongKind datamodel.ErrWrongKind
	return errors.Is(err, errUnderFile) ||
		errors.As(err, &wrongKind) // the resolver applied a path segment to bytes or a number
}

// isInvalid: a malformed CID, multihash or path; a codec or hash function this node does not
// know or does not accept; a block that is no UnixFS node where one is needed.
func isInvalid(err error) bool {
	var badCid cid.ErrInvalidCid
	var badPath *path.ErrInvalidPath
	var setup linking.ErrLinkingSetup // no decoder or hasher registered for the CID's codec or hash
	if errors.As(err, &badCid) || errors.As(err, &badPath) || errors.As(err, &setup) {
		return true
	}
	for _, target := range []error{
		blockmap.ErrNotUnixFS,
		cid.ErrInvalidEncoding,
		path.ErrUnknownNamespace, path.ErrInsufficientComponents, path.ErrExpectedImmutable,
		mh.ErrUnknownCode, mh.ErrTooShort, mh.ErrTooLong, mh.ErrLenNotSupported, mh.ErrInvalidMultihash,
		mh.ErrVarintBufferShort, mh.ErrVarintTooLong, mh.ErrSumNotSupported, mh.ErrLenTooLarge,
		verifcid.ErrPossiblyInsecureHashFunction, verifcid.ErrDigestTooSmall, verifcid.ErrDigestTooLarge,
		unixfs.ErrMalformedFileFormat, unixfs.ErrNotProtoNode, unixfs.ErrUnrecognizedType,
		merkledag.ErrNotProtobuf, merkledag.ErrNotRawNode,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// noSpace reports whether err comes from a full disk. kubo's add command hands its errors on
// as text, so the errno's own message is looked for where the error value did not survive.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		strings.Contains(err.Error(), syscall.ENOSPC.Error())
}
