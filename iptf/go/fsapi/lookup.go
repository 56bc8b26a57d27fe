// Lookup: resolving a URI to its node, and describing what stands there (stat, ls).

package fsapi

import (
	"context"
	"strings"

	dag "github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	unixfspb "github.com/ipfs/boxo/ipld/unixfs/pb"
	"github.com/ipfs/boxo/mfs"
	"github.com/ipfs/boxo/path"
	ipld "github.com/ipfs/go-ipld-format"
	coreiface "github.com/ipfs/kubo/core/coreiface"
	"github.com/ipfs/kubo/core/coreiface/options"

	"iptf.io/node/protocol"
	"iptf.io/node/uri"
)

// node returns the IPLD node behind a content or repo URI.
func (fs *FS) node(ctx context.Context, u uri.URI) (ipld.Node, error) {
	switch u.Namespace {
	case uri.IPFS, uri.IPNS:
		p, err := path.NewPath(u.Path)
		if err != nil {
			return nil, errorf(InvalidArgument, u.Raw, "%s", err)
		}
		stop := fs.Fetcher.RootAlongside(ctx, p)
		nd, err := fs.API.ResolveNode(ctx, p)
		stop()
		if err != nil {
			return nil, fs.resolveError(ctx, u, p, err)
		}
		return nd, nil
	default:
		fsn, err := fs.lookup(u.Path)
		if err != nil {
			return nil, classify(u.Raw, err)
		}
		nd, err := fsn.GetNode()
		return nd, classify(u.Raw, err)
	}
}

// resolveError classifies the failure to resolve the content path p of u. Kubo's resolver
// reports a path that runs under a file in several ways, depending on how the file's blocks
// are laid out (go-ipld-prime's ErrWrongKind for a one-block file, ErrNoLink for a file of
// many), and a path into a dag-cbor or dag-json block fails like a missing name
// (ErrNotExists). So the ancestors are looked at, from the root down: the first that is no
// UnixFS directory gives the class (a file: FailedPrecondition; no UnixFS node at all:
// InvalidArgument). Otherwise the error's own class stands.
func (fs *FS) resolveError(ctx context.Context, u uri.URI, p path.Path, err error) error {
	if ctx.Err() != nil {
		// The name resolution kubo starts with reports a cut-short request as
		// namesys.ErrResolveFailed, without the context's error inside.
		return errorf(Unavailable, u.Raw, "content not retrievable in time (%s)", ctx.Err())
	}
	segs := p.Segments() // namespace, root, then the names below it
	for i := 2; i < len(segs); i++ {
		ancestor, perr := path.NewPathFromSegments(segs[:i]...)
		if perr != nil {
			break
		}
		nd, rerr := fs.API.ResolveNode(ctx, ancestor)
		if rerr != nil {
			break
		}
		typ, _, derr := describe(ancestor.String(), nd)
		if derr != nil {
			return errorf(InvalidArgument, u.Raw, "%s is no UnixFS directory: IPTF reads no paths inside it",
				uri.Format(u.Namespace, ancestor.String()))
		}
		if typ != protocol.TypeDirectory {
			return errorf(FailedPrecondition, u.Raw, "a parent is not a directory: %s is a file",
				uri.Format(u.Namespace, ancestor.String()))
		}
	}
	return classify(u.Raw, err)
}

// lookup returns what stands at an MFS path. mfs.Lookup reports a file on the way only in
// its text, so the walk is done here, where that case is errUnderFile.
func (fs *FS) lookup(p string) (mfs.FSNode, error) {
	var cur mfs.FSNode = fs.Node.FilesRoot.GetDirectory()
	for _, name := range strings.Split(strings.Trim(p, "/"), "/") {
		if name == "" {
			continue
		}
		dir, ok := cur.(*mfs.Directory)
		if !ok {
			return nil, errUnderFile
		}
		child, err := dir.Child(name)
		if err != nil {
			return nil, err
		}
		cur = child
	}
	return cur, nil
}

// fileNode returns the node of the file at u and its size; a directory is FailedPrecondition.
func (fs *FS) fileNode(ctx context.Context, u uri.URI) (ipld.Node, uint64, error) {
	nd, err := fs.node(ctx, u)
	if err != nil {
		return nil, 0, err
	}
	typ, size, err := describe(u.Raw, nd)
	if err != nil {
		return nil, 0, err
	}
	if typ != protocol.TypeFile {
		return nil, 0, errorf(FailedPrecondition, u.Raw, "is a directory")
	}
	return nd, size, nil
}

// describe gives a node's type and size.
func describe(raw string, nd ipld.Node) (string, uint64, error) {
	switch n := nd.(type) {
	case *dag.RawNode:
		return protocol.TypeFile, uint64(len(n.RawData())), nil
	case *dag.ProtoNode:
		fsn, err := unixfs.FSNodeFromBytes(n.Data())
		if err != nil {
			return "", 0, errorf(InvalidArgument, raw, "not a UnixFS node")
		}
		switch fsn.Type() {
		case unixfspb.Data_Directory, unixfspb.Data_HAMTShard:
			return protocol.TypeDirectory, 0, nil
		case unixfspb.Data_Symlink:
			return protocol.TypeFile, uint64(len(fsn.Data())), nil
		default:
			return protocol.TypeFile, fsn.FileSize(), nil
		}
	}
	return "", 0, errorf(InvalidArgument, raw, "not a UnixFS node (codec 0x%x)", nd.Cid().Prefix().Codec)
}

// Stat describes the file or directory at raw.
func (fs *FS) Stat(ctx context.Context, raw string) (*protocol.Stat, error) {
	u, err := fs.parseSettled(ctx, raw)
	if err != nil {
		return nil, err
	}
	if u.Namespace == uri.Meta {
		text, err := fs.metaJSON(ctx, u)
		if err != nil {
			return nil, err
		}
		return &protocol.Stat{Uri: u.String(), Type: protocol.TypeFile, Size: uint64(len(text))}, nil
	}
	nd, err := fs.node(ctx, u)
	if err != nil {
		return nil, err
	}
	typ, size, err := describe(u.Raw, nd)
	if err != nil {
		return nil, err
	}
	return &protocol.Stat{Uri: u.String(), Type: typ, Size: size, Cid: nd.Cid().String()}, nil
}

// List names the entries of the directory at raw.
func (fs *FS) List(ctx context.Context, raw string) ([]protocol.Entry, error) {
	u, err := fs.parseSettled(ctx, raw)
	if err != nil {
		return nil, err
	}
	if u.Namespace == uri.IPFS || u.Namespace == uri.IPNS {
		return fs.listContent(ctx, u)
	}
	fsn, err := fs.lookup(u.Path)
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	dir, ok := fsn.(*mfs.Directory)
	if !ok {
		return nil, errorf(FailedPrecondition, u.Raw, "not a directory")
	}
	listing, err := dir.List(ctx)
	if err != nil {
		return nil, classify(u.Raw, err)
	}
	out := make([]protocol.Entry, 0, len(listing))
	for _, l := range listing {
		e := protocol.Entry{Name: l.Name, Type: protocol.TypeFile, Size: uint64(l.Size)}
		if mfs.NodeType(l.Type) == mfs.TDir {
			e.Type, e.Size = protocol.TypeDirectory, 0
		}
		out = append(out, e)
	}
	return out, nil
}

func (fs *FS) listContent(ctx context.Context, u uri.URI) ([]protocol.Entry, error) {
	nd, err := fs.node(ctx, u)
	if err != nil {
		return nil, err
	}
	if typ, _, err := describe(u.Raw, nd); err != nil {
		return nil, err
	} else if typ != protocol.TypeDirectory {
		return nil, errorf(FailedPrecondition, u.Raw, "not a directory")
	}
	ch := make(chan coreiface.DirEntry)
	errc := make(chan error, 1)
	go func() {
		errc <- fs.API.Unixfs().Ls(ctx, path.FromCid(nd.Cid()), ch, options.Unixfs.ResolveChildren(true))
	}()
	var out []protocol.Entry
	for e := range ch {
		entry := protocol.Entry{Name: e.Name, Type: protocol.TypeFile, Size: e.Size}
		if e.Type == coreiface.TDirectory {
			entry.Type, entry.Size = protocol.TypeDirectory, 0
		}
		out = append(out, entry)
	}
	if err := <-errc; err != nil {
		return nil, classify(u.Raw, err)
	}
	return out, nil
}
