package iptfcmd

import (
	"errors"
	"io"

	cmds "github.com/ipfs/go-ipfs-cmds"
	"github.com/ipfs/kubo/core/commands/cmdutils"

	"iptf.io/node/fsapi"
	"iptf.io/node/protocol"
	"iptf.io/node/uri"
)

// ReadThroughFetcher makes kubo's `cat` read through the node's fetch engine, the one the
// TensorFlow plugin's reads use (iptf/read): when several connected peers hold a file, each
// block is asked of the least-loaded holder instead of one bitswap session's pick, and the
// window after a reader's position is fetched ahead. Output, --offset, --length, the progress
// bar and exit codes stay kubo's. `cat --offline` (local blocks only) is kubo's own.
func ReadThroughFetcher(c *cmds.Command) {
	c.Run = throughEngine(c.Run, func(req *cmds.Request, res cmds.ResponseEmitter, _ cmds.Environment,
		fs *fsapi.FS) error {
		offset, _ := req.Options["offset"].(int64)
		if offset < 0 {
			return errors.New("cannot specify negative offset")
		}
		limit, limited := req.Options["length"].(int64)
		if limit < 0 {
			return errors.New("cannot specify negative length")
		}
		if err := req.ParseBodyArgs(); err != nil {
			return err
		}
		if limited && limit == 0 {
			return res.Emit(io.MultiReader())
		}
		parts, total, err := catParts(req, fs, uint64(offset))
		if err != nil {
			return err
		}
		readers := make([]io.Reader, len(parts))
		for i, p := range parts {
			readers[i] = &lazyReader{open: p}
		}
		var out io.Reader = io.MultiReader(readers...)
		if limited {
			out = io.LimitReader(out, limit)
			total = min(total, uint64(limit))
		}
		res.SetLength(total)
		return emitStream(res, out)
	})
	streamsInChunks(c)
}

// throughEngine runs a kubo command as run does, with the node's filesystem (and so its fetch
// engine), unless the request is --offline (local blocks only: kubo's own command) or no node
// service runs in this process (kubo's command, as before IPTF).
func throughEngine(kuboRun cmds.Function,
	run func(*cmds.Request, cmds.ResponseEmitter, cmds.Environment, *fsapi.FS) error) cmds.Function {
	return func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		if offline, _ := req.Options["offline"].(bool); offline {
			return kuboRun(req, res, env)
		}
		fs, err := filesystem(req, env)
		if err != nil {
			return kuboRun(req, res, env)
		}
		return run(req, res, env, fs)
	}
}

// catParts gives, for each argument, what opens its bytes from the offset on (the offset runs
// on through the files as kubo's cat counts it), and the bytes in all.
func catParts(req *cmds.Request, fs *fsapi.FS, offset uint64) ([]func() (io.Reader, error), uint64, error) {
	var parts []func() (io.Reader, error)
	var total uint64
	who := caller(req)
	who.NoLog = true // kubo's cat was never in the reflog; the Python API's reads are
	for _, arg := range req.Arguments {
		p, err := cmdutils.PathOrCidPath(arg)
		if err != nil {
			return nil, 0, err
		}
		raw := uri.Format(uri.IPFS, p.String()) // /ipfs/… → iptf://ipfs/…, /ipns/… → iptf://ipns/…
		st, err := fs.Stat(req.Context, raw)
		if err != nil {
			return nil, 0, err
		}
		if st.Type != protocol.TypeFile {
			return nil, 0, &fsapi.Error{Code: fsapi.FailedPrecondition, URI: raw, Why: "is a directory"}
		}
		if offset > st.Size {
			offset -= st.Size
			continue
		}
		from := offset
		offset = 0
		total += st.Size - from
		parts = append(parts, func() (io.Reader, error) {
			return fs.Read(req.Context, raw, from, st.Size-from, who)
		})
	}
	return parts, total, nil
}

// lazyReader opens its reader on the first Read: a cat of many files fetches one at a time.
type lazyReader struct {
	open func() (io.Reader, error)
	r    io.Reader
}

func (l *lazyReader) Read(p []byte) (int, error) {
	if l.r == nil {
		r, err := l.open()
		if err != nil {
			return 0, err
		}
		l.r = r
	}
	return l.r.Read(p)
}
