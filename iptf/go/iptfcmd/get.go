package iptfcmd

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	gopath "path"

	"github.com/ipfs/boxo/files"
	cmds "github.com/ipfs/go-ipfs-cmds"
	"github.com/ipfs/kubo/core/commands/cmdenv"
	"github.com/ipfs/kubo/core/commands/cmdutils"

	"iptf.io/node/fsapi"
	"iptf.io/node/uri"
)

// GetThroughFetcher makes kubo's `get` read the bytes of its files through the node's fetch
// engine, as `cat` and TensorFlow's reads do: kubo's UnixFS nodes still give the tree, sizes,
// modes, times and symlinks, and the client side (extraction, --archive, --compress, the
// progress bar) is kubo's; only each file's content comes from the engine. With --offline,
// the command is kubo's alone.
func GetThroughFetcher(c *cmds.Command) {
	c.Run = throughEngine(c.Run, func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment,
		fs *fsapi.FS) error {
		level, err := compressionLevel(req)
		if err != nil {
			return err
		}
		api, err := cmdenv.GetApi(env, req)
		if err != nil {
			return err
		}
		p, err := cmdutils.PathOrCidPath(req.Arguments[0])
		if err != nil {
			return err
		}
		stop := fs.Fetcher.RootAlongside(req.Context, p)
		nd, err := api.Unixfs().Get(req.Context, p)
		stop()
		if err != nil {
			return err
		}
		size, err := nd.Size()
		if err != nil {
			return err
		}
		res.SetLength(uint64(size))
		asArchive, _ := req.Options["archive"].(bool)
		src := &engineTree{ctx: req.Context, fs: fs}
		reader := archiveOf(src.wrap(nd, uri.Format(uri.IPFS, p.String())), p.String(), asArchive, level)
		go func() {
			<-req.Context.Done()
			reader.Close()
		}()
		res.SetEncodingType(cmds.OctetStream)
		if level != gzip.NoCompression {
			res.SetContentType("application/gzip")
		} else {
			res.SetContentType("application/x-tar")
		}
		return emitStream(res, reader)
	})
	streamsInChunks(c)
}

// compressionLevel reads --compress and --compression-level as kubo's get does.
func compressionLevel(req *cmds.Request) (int, error) {
	compress, _ := req.Options["compress"].(bool)
	level, set := req.Options["compression-level"].(int)
	switch {
	case !compress:
		return gzip.NoCompression, nil
	case !set:
		return gzip.DefaultCompression, nil
	case level < 1 || level > 9:
		return gzip.NoCompression, errors.New("compression level must be between 1 and 9")
	}
	return level, nil
}

// archiveOf streams nd as get's transport: a tar (PAX, to keep nanoseconds, unless it is the
// archive the user asked for), gzip'd at level; a single file asked for compressed and not
// archived is the gzip'd file itself.
func archiveOf(nd files.Node, name string, asArchive bool, level int) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		defer nd.Close()
		buffered := bufio.NewWriterSize(pw, 1<<20)
		var w io.Writer = buffered
		var gz *gzip.Writer
		if level != gzip.NoCompression {
			gz, _ = gzip.NewWriterLevel(buffered, level) // the level was checked
			w = gz
		}
		err := func() error {
			if !asArchive && gz != nil {
				f := files.ToFile(nd)
				if f == nil {
					return errors.New("only a file can be compressed without --archive")
				}
				_, err := io.Copy(w, f)
				return err
			}
			tw, err := files.NewTarWriter(w)
			if err != nil {
				return err
			}
			if !asArchive {
				tw.SetFormat(tar.FormatPAX)
			}
			if err := tw.WriteFile(nd, gopath.Base(gopath.Clean(name))); err != nil {
				return err
			}
			return tw.Close()
		}()
		if err == nil && gz != nil {
			err = gz.Close()
		}
		if err == nil {
			err = buffered.Flush()
		}
		pw.CloseWithError(err) // nil: the reader sees EOF
	}()
	return pr
}

// engineTree wraps kubo's UnixFS nodes so that file contents are read through the engine.
type engineTree struct {
	ctx context.Context
	fs  *fsapi.FS
}

func (t *engineTree) wrap(nd files.Node, raw string) files.Node {
	switch n := nd.(type) {
	case *files.Symlink: // a File too, but kubo's node says all there is
		return n
	case files.Directory:
		return &engineDir{Directory: n, tree: t, raw: raw}
	case files.File:
		return &engineFile{File: n, tree: t, raw: raw}
	}
	return nd
}

type engineDir struct {
	files.Directory
	tree *engineTree
	raw  string
}

func (d *engineDir) Entries() files.DirIterator {
	return &engineEntries{DirIterator: d.Directory.Entries(), dir: d}
}

type engineEntries struct {
	files.DirIterator
	dir *engineDir
}

func (e *engineEntries) Node() files.Node {
	return e.dir.tree.wrap(e.DirIterator.Node(), e.dir.raw+"/"+e.Name())
}

// engineFile is kubo's file node whose bytes are read through the engine, from its start.
type engineFile struct {
	files.File
	tree *engineTree
	raw  string
	r    io.Reader
}

func (f *engineFile) Read(p []byte) (int, error) {
	if f.r == nil {
		size, err := f.File.Size()
		if err != nil {
			return 0, err
		}
		if f.r, err = f.tree.fs.Read(f.tree.ctx, f.raw, 0, uint64(size), fsapi.Caller{NoLog: true}); err != nil {
			return 0, err
		}
	}
	return f.r.Read(p)
}

func (f *engineFile) Seek(int64, int) (int64, error) {
	return 0, errors.New("a file read through the fetch engine is read from its start")
}
