package iptfcmd

import (
	"context"
	"io"

	cmds "github.com/ipfs/go-ipfs-cmds"
	"github.com/ipfs/kubo/core/commands/cmdutils"

	"iptf.io/node/fsapi"
	"iptf.io/node/protocol"
	"iptf.io/node/uri"
)

// FetchAhead runs the node's fetch engine (the one TensorFlow's reads and `iptf cat` use) over
// every file under a command's path arguments while kubo's command runs, in the order kubo
// walks them: `get` and `pin add` then find most blocks already local, fetched from the
// least-loaded of the peers that hold them, instead of asking one bitswap session for each.
// What the engine fetches first is what the command needs first; kubo's own reader still
// fetches whatever it reaches before the engine does. With --offline, or `pin add
// --recursive=false`, the command runs as kubo's alone.
func FetchAhead(c *cmds.Command) {
	kuboRun := c.Run
	c.Run = func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		offline, _ := req.Options["offline"].(bool)
		if recursive, set := req.Options["recursive"].(bool); offline || set && !recursive || len(req.Arguments) == 0 {
			return kuboRun(req, res, env)
		}
		fs, err := filesystem(req, env)
		if err != nil {
			return kuboRun(req, res, env)
		}
		ctx, cancel := context.WithCancel(req.Context)
		defer cancel() // the command is done: so is fetching for it
		args := append([]string(nil), req.Arguments...)
		go func() {
			for _, arg := range args {
				p, err := cmdutils.PathOrCidPath(arg)
				if err != nil {
					return // kubo's command reports it
				}
				if fetchTree(ctx, fs, uri.Scheme+p.String()[1:]) != nil {
					return
				}
			}
		}()
		return kuboRun(req, res, env)
	}
}

// fetchTree makes every file under raw local through the fetch engine, depth first in
// directory order. Its errors end it quietly: the command meets and reports the same ones.
func fetchTree(ctx context.Context, fs *fsapi.FS, raw string) error {
	st, err := fs.Stat(ctx, raw)
	if err != nil {
		return err
	}
	if st.Type == protocol.TypeFile {
		r, err := fs.Read(ctx, raw, 0, st.Size, fsapi.Caller{NoLog: true})
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r)
		return err
	}
	entries, err := fs.List(ctx, raw)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type != protocol.TypeFile && e.Type != protocol.TypeDirectory {
			continue
		}
		if err := fetchTree(ctx, fs, raw+"/"+e.Name); err != nil {
			return err
		}
	}
	return nil
}
