package iptfcmd

import (
	"fmt"
	"io"

	cmds "github.com/ipfs/go-ipfs-cmds"

	"iptf.io/node/fsapi"
	"iptf.io/node/protocol"
	"iptf.io/node/uri"
	"iptf.io/node/writeback"
)

// stageCmd hands a writer its staging file: the node alone decides where staged bytes live
// and which spare is reused, and checks that the target can take a file before any byte is
// written.
var stageCmd = fsCommand("Hand out a staging file for writing an iptf://repo/root/ (or meta) URI.",
	[]cmds.Argument{uriArg("uri", "iptf:// URI to be written")},
	[]cmds.Option{cmds.BoolOption("append", "The writer appends: say what its bytes follow (Base, Size, AfterQueued).")},
	func(req *cmds.Request, fs *fsapi.FS) (*protocol.Staged, error) {
		appending, _ := req.Options["append"].(bool)
		return fs.Stage(req.Context, req.Arguments[0], appending)
	})

// Writeback is the `writeback` command group: what to do with queued writes that failed.
var Writeback = &cmds.Command{
	Helptext: cmds.HelpText{
		Tagline: "Apply again or drop the closed files that could not be put in the tree.",
		ShortDescription: `
A file closed under iptf://repo/root/ is imported in the background. When that import fails
(a full disk, say), the path keeps what it held before, the bytes stay in the repo's staging
folder, 'iptf status' lists the failure, and reading the path reports it until the failure is
retried or discarded, or the path is written again.

  iptf writeback retry                          # every failed write
  iptf writeback retry iptf://repo/root/f.bin   # one path
  iptf writeback discard iptf://repo/root/f.bin # drop it and its bytes
`,
	},
	Subcommands: map[string]*cmds.Command{
		"retry":   handleFailures("Queue failed writes again (all, or those at the given URIs).", (*writeback.Queue).Retry),
		"discard": handleFailures("Forget failed writes and delete their bytes (all, or those at the given URIs).", (*writeback.Queue).Discard),
	},
}

func handleFailures(tagline string, handle func(*writeback.Queue, ...string) ([]writeback.Failure, error)) *cmds.Command {
	return &cmds.Command{
		Helptext:  cmds.HelpText{Tagline: tagline},
		Arguments: []cmds.Argument{cmds.StringArg("uri", false, true, "iptf://repo/root/ URI of a failed write")},
		Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
			fs, err := filesystem(req, env)
			if err != nil {
				return err
			}
			if fs.Pending == nil {
				return fmt.Errorf("no write-back queue: the command needs the repo's node (it starts one on demand)")
			}
			var paths []string
			for _, raw := range req.Arguments {
				u, err := uri.Parse(raw)
				if err != nil || u.Namespace != uri.Repo {
					return cmds.Errorf(cmds.ErrClient, "%s: not an iptf://repo/root/ URI", raw)
				}
				paths = append(paths, u.Path)
			}
			handled, err := handle(fs.Pending, paths...)
			if err != nil {
				return err
			}
			return cmds.EmitOnce(res, &protocol.HandledWrites{Writes: failedWrites(handled)})
		},
		Type: protocol.HandledWrites{},
		Encoders: cmds.EncoderMap{
			cmds.Text: cmds.MakeTypedEncoder(func(req *cmds.Request, w io.Writer, h *protocol.HandledWrites) error {
				if len(h.Writes) == 0 {
					_, err := fmt.Fprintln(w, "no failed writes")
					return err
				}
				for _, f := range h.Writes {
					target := f.Uri
					switch f.Kind {
					case protocol.KindMove:
						target = f.Uri + " -> " + f.Destination
					case protocol.KindDamaged:
						target = f.Staged
					}
					if _, err := fmt.Fprintf(w, "%s %s\n", f.Kind, target); err != nil {
						return err
					}
				}
				return nil
			}),
		},
	}
}

func init() {
	Root.Subcommands["stage"] = stageCmd
}
