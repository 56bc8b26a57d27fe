package iptfcmd

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ipfs/boxo/files"
	cmds "github.com/ipfs/go-ipfs-cmds"
)

// localPathsOption marks an add whose files travel as their paths on this machine: the node
// opens them itself. The command line and the node share a machine (the API is a Unix socket
// in the repo), so streaming every byte through the API only to read it back costs a copy and
// a multipart parse per byte, a third of the node's time in an import.
const localPathsOption = "iptf-local-paths"

// AddReadsLocalPaths makes `add` of files and folders on disk send their paths instead of
// their bytes (names, folders, symlinks, modes and times travel as before), and the node read
// them from disk. Standard input and anything else not a regular file on disk still streams.
func AddReadsLocalPaths(c *cmds.Command) {
	c.Options = append(c.Options, cmds.BoolOption(localPathsOption,
		"Let the node read the files from their paths on this machine (iptf sets it for files on disk; "+
			"=false streams them through the API)."))
	kuboPreRun, kuboRun := c.PreRun, c.Run
	c.PreRun = func(req *cmds.Request, env cmds.Environment) error {
		if kuboPreRun != nil {
			if err := kuboPreRun(req, env); err != nil {
				return err
			}
		}
		if off, set := req.Options[localPathsOption].(bool); set && !off {
			return nil // asked not to: the bytes stream through the API
		}
		if req.Files != nil && onDisk(req.Files, true) {
			req.Files = asPaths(req.Files).(files.Directory)
			req.Options[localPathsOption] = true
		}
		return nil
	}
	c.Run = func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		if local, _ := req.Options[localPathsOption].(bool); local && req.Files != nil {
			opened, err := fromPaths(req.Files)
			if err != nil {
				return err
			}
			req.Files = opened.(files.Directory)
		}
		return kuboRun(req, res, env)
	}
}

// onDisk reports whether every file in dir (recursively) is a regular file at its absolute
// path. Files a folder's walk opened are closed (the next walk opens them again); the command
// line's own file arguments (keepOpen) stay open, for kubo to send should they not all be on disk.
func onDisk(dir files.Directory, keepOpen bool) bool {
	it := dir.Entries()
	for it.Next() {
		switch n := it.Node().(type) {
		case files.Directory:
			if !onDisk(n, false) {
				return false
			}
		case *files.Symlink:
		case files.FileInfo:
			st, err := os.Stat(n.AbsPath())
			regular := n.AbsPath() != "" && err == nil && st.Mode().IsRegular()
			if !keepOpen {
				n.Close()
			}
			if !regular {
				return false
			}
		default:
			return false
		}
	}
	return it.Err() == nil
}

// asPaths rebuilds the tree with every file replaced by its path (no bytes to send).
func asPaths(nd files.Node) files.Node {
	switch n := nd.(type) {
	case files.Directory:
		var entries []files.DirEntry
		it := n.Entries()
		for it.Next() {
			entries = append(entries, files.FileEntry(it.Name(), asPaths(it.Node())))
		}
		return &keepMeta{Directory: files.NewSliceDirectory(entries), of: n}
	case files.FileInfo:
		n.Close() // the node opens it again on its side
		size, _ := n.Size()
		return &pathOnly{path: n.AbsPath(), size: size, mode: n.Mode(), mtime: n.ModTime()}
	}
	return nd
}

// fromPaths opens, on the node's side, the files a tree of paths names.
func fromPaths(nd files.Node) (files.Node, error) {
	switch n := nd.(type) {
	case files.Directory:
		var entries []files.DirEntry
		it := n.Entries()
		for it.Next() {
			child, err := fromPaths(it.Node())
			if err != nil {
				return nil, err
			}
			entries = append(entries, files.FileEntry(it.Name(), child))
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		return &keepMeta{Directory: files.NewSliceDirectory(entries), of: n}, nil
	case files.FileInfo:
		path := n.AbsPath()
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("the node cannot read %s: %w", path, err)
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("the node cannot read %s: not a regular file", path)
		}
		return files.NewReaderPathFile(path, f, st)
	}
	return nd, nil
}

// pathOnly is a file sent as its path: no bytes, but its size (for the progress bar), mode
// and time (for --preserve-mode and --preserve-mtime) and path.
type pathOnly struct {
	path  string
	size  int64
	mode  os.FileMode
	mtime time.Time
}

func (p *pathOnly) Read([]byte) (int, error)       { return 0, io.EOF }
func (p *pathOnly) Seek(int64, int) (int64, error) { return 0, nil }
func (p *pathOnly) Close() error                   { return nil }
func (p *pathOnly) Size() (int64, error)           { return p.size, nil }
func (p *pathOnly) Mode() os.FileMode              { return p.mode }
func (p *pathOnly) ModTime() time.Time             { return p.mtime }
func (p *pathOnly) AbsPath() string                { return p.path }
func (p *pathOnly) Stat() os.FileInfo              { return nil }

// keepMeta is a rebuilt directory that keeps the mode and time of the one it replaces.
type keepMeta struct {
	files.Directory
	of files.Node
}

func (k *keepMeta) Mode() os.FileMode  { return k.of.Mode() }
func (k *keepMeta) ModTime() time.Time { return k.of.ModTime() }
