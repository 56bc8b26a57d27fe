// Changes to the writable tree: placing files, directories, removal and copies.

package fsapi

import (
	"context"
	"errors"
	"os"
	gopath "path"

	"github.com/ipfs/boxo/mfs"
	ipld "github.com/ipfs/go-ipld-format"

	"iptf.io/node/protocol"
	"iptf.io/node/reflog"
	"iptf.io/node/uri"
)

func writable(u uri.URI) error {
	if !u.Writable() {
		return errorf(PermissionDenied, u.Raw, "read-only: content under iptf://%s/ never changes", u.Namespace)
	}
	return nil
}

// treePath parses a URI that must name a path in the writable tree itself (not a meta path,
// for which metaWhy says what to do instead).
func (fs *FS) treePath(ctx context.Context, raw, metaWhy string) (uri.URI, error) {
	u, err := parse(raw)
	if err != nil {
		return uri.URI{}, err
	}
	if err := fs.settle(ctx, u); err != nil {
		return uri.URI{}, err
	}
	if err := writable(u); err != nil {
		return uri.URI{}, err
	}
	if u.Namespace == uri.Meta {
		return uri.URI{}, errorf(PermissionDenied, u.Raw, "%s", metaWhy)
	}
	return u, nil
}

// parentDir returns the directory that holds u and u's name in it.
func (fs *FS) parentDir(u uri.URI) (*mfs.Directory, string, error) {
	if u.Path == "/" {
		return nil, "", errorf(FailedPrecondition, u.Raw, "is the root directory")
	}
	dirPath, name := gopath.Split(u.Path)
	fsn, err := fs.lookup(dirPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", errorf(NotFound, u.Raw, "parent directory does not exist")
		}
		return nil, "", classify(u.Raw, err)
	}
	dir, ok := fsn.(*mfs.Directory)
	if !ok {
		return nil, "", errorf(FailedPrecondition, u.Raw, "parent is not a directory")
	}
	return dir, name, nil
}

// existing returns the directory holding u, u's name in it and what stands there; NotFound
// if nothing does.
func (fs *FS) existing(u uri.URI) (*mfs.Directory, string, mfs.FSNode, error) {
	dir, name, err := fs.parentDir(u)
	if err != nil {
		return nil, "", nil, err
	}
	child, err := dir.Child(name)
	if err != nil {
		return nil, "", nil, classify(u.Raw, err)
	}
	return dir, name, child, nil
}

// place puts nd at the repo path of u, replacing a file there, and, with persist, persists
// the tree (else FlushDirs does, after a batch). The caller holds fs.tree.
func (fs *FS) place(ctx context.Context, u uri.URI, nd ipld.Node, persist bool) error {
	dir, name, err := fs.parentDir(u)
	if err != nil {
		return err
	}
	if old, err := dir.Child(name); err == nil {
		if old.Type() == mfs.TDir {
			return errorf(FailedPrecondition, u.Raw, "is a directory")
		}
		if err := dir.Unlink(name); err != nil {
			return classify(u.Raw, err)
		}
	}
	if err := dir.AddChild(name, nd); err != nil {
		return classify(u.Raw, err)
	}
	if !persist {
		return nil
	}
	_, err = mfs.FlushPath(ctx, fs.Node.FilesRoot, gopath.Dir(u.Path))
	return classify(u.Raw, err)
}

// FlushDirs persists the tree's directories dirs (tree paths) and their parents, once each:
// the end of a batch of queued writes placed without persisting (writeback.Flush).
func (fs *FS) FlushDirs(ctx context.Context, dirs []string) error {
	fs.tree.Lock()
	defer fs.tree.Unlock()
	done := map[string]bool{}
	for _, d := range dirs {
		if done[d] {
			continue
		}
		done[d] = true
		if _, err := mfs.FlushPath(ctx, fs.Node.FilesRoot, d); err != nil {
			return classify(uri.Format(uri.Repo, d), err)
		}
	}
	return nil
}

// Mkdir creates a directory; with parents, missing parents too and an existing directory is fine.
func (fs *FS) Mkdir(ctx context.Context, raw string, parents bool) error {
	u, err := fs.treePath(ctx, raw, "iptf://meta/ holds no directories of its own")
	if err != nil {
		return err
	}
	// Checked under the lock: mfs.Mkdir reports a file among the parents only in its text.
	fs.tree.Lock()
	defer fs.tree.Unlock()
	if fsn, err := fs.lookup(u.Path); err == nil {
		if fsn.Type() == mfs.TDir && parents {
			return nil
		}
		return errorf(AlreadyExists, u.Raw, "already exists")
	} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errUnderFile) {
		return classify(u.Raw, err)
	}
	if !parents {
		if _, _, err := fs.parentDir(u); err != nil {
			return err
		}
	} else {
		// Every existing ancestor must be a directory.
		for p := gopath.Dir(u.Path); p != "/"; p = gopath.Dir(p) {
			if fsn, err := fs.lookup(p); err == nil && fsn.Type() != mfs.TDir {
				return errorf(FailedPrecondition, u.Raw, "a parent is not a directory: %s is a file",
					uri.Format(uri.Repo, p))
			}
		}
	}
	err = mfs.Mkdir(fs.Node.FilesRoot, u.Path, mfs.MkdirOpts{Mkparents: parents, Flush: true})
	if err == nil {
		// mfs.Mkdir hands the new root to the republisher, which stores it up to a moment
		// later: wait until it is stored, so that a directory made survives a kill.
		_, err = mfs.FlushPath(ctx, fs.Node.FilesRoot, u.Path)
	}
	if err == nil {
		fs.supersede(u)
	}
	return classify(u.Raw, err)
}

// Removal kinds.
const (
	RemoveFile      = "file"
	RemoveDir       = "dir"
	RemoveRecursive = "recursive"
)

// Remove deletes a file, an empty directory, or a whole tree (kind), for a process.
func (fs *FS) Remove(ctx context.Context, raw, kind string, who Caller) error {
	u, err := fs.treePath(ctx, raw, "remove the file under iptf://repo/root/ instead")
	if err != nil {
		return err
	}
	fs.tree.Lock()
	defer fs.tree.Unlock()
	dir, name, child, err := fs.existing(u)
	if err != nil {
		return err
	}
	switch kind {
	case RemoveFile:
		if child.Type() == mfs.TDir {
			return errorf(FailedPrecondition, u.Raw, "is a directory")
		}
	case RemoveDir:
		sub, ok := child.(*mfs.Directory)
		if !ok {
			return errorf(FailedPrecondition, u.Raw, "not a directory")
		}
		names, err := sub.ListNames(ctx)
		if err != nil {
			return classify(u.Raw, err)
		}
		if len(names) > 0 {
			return errorf(FailedPrecondition, u.Raw, "directory not empty")
		}
	case RemoveRecursive:
	default:
		return errorf(InvalidArgument, u.Raw, "unknown removal kind %q", kind)
	}
	if err := fs.unlink(ctx, u, dir, name); err != nil {
		return err
	}
	fs.supersede(u)
	if fs.Reflog != nil {
		if err := fs.Reflog.RecordRemove(u.String(), who.Pid); err != nil {
			log.Errorf("reflog: %s", err)
		}
	}
	return nil
}

// unlink removes name from dir, which holds u, and persists the tree. The caller holds fs.tree.
func (fs *FS) unlink(ctx context.Context, u uri.URI, dir *mfs.Directory, name string) error {
	if err := dir.Unlink(name); err != nil {
		return classify(u.Raw, err)
	}
	_, err := mfs.FlushPath(ctx, fs.Node.FilesRoot, gopath.Dir(u.Path))
	return classify(u.Raw, err)
}

// Copy puts the file at src (any namespace) at dst in the writable tree, without moving bytes.
func (fs *FS) Copy(ctx context.Context, rawSrc, rawDst string, who Caller) (*protocol.Written, error) {
	src, err := fs.parseSettled(ctx, rawSrc)
	if err != nil {
		return nil, err
	}
	dst, err := parse(rawDst)
	if err != nil {
		return nil, err
	}
	if err := fs.settle(ctx, dst); err != nil {
		return nil, err
	}
	if dst.Namespace != uri.Repo {
		return nil, errorf(PermissionDenied, dst.Raw, "copies go under iptf://repo/root/")
	}
	if src.Namespace == uri.Meta {
		return nil, errorf(InvalidArgument, src.Raw, "copy the file under iptf://repo/root/ instead")
	}
	nd, size, err := fs.fileNode(ctx, src)
	if err != nil {
		return nil, err
	}
	fs.tree.Lock()
	err = fs.place(ctx, dst, nd, true)
	fs.tree.Unlock()
	if err != nil {
		return nil, err
	}
	fs.supersede(dst)
	fs.record(reflog.Write, dst, nd.Cid().String(), size, who)
	return &protocol.Written{Uri: dst.String(), Cid: nd.Cid().String(), Size: size}, nil
}
