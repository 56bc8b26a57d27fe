package iptfcmd

import (
	"strings"

	cmds "github.com/ipfs/go-ipfs-cmds"
	"github.com/ipfs/kubo/core/commands/cmdenv"

	"iptf.io/node/fsapi"
	"iptf.io/node/protocol"
	"iptf.io/node/reflog"
	"iptf.io/node/service"
	"iptf.io/node/staging"
	"iptf.io/node/uri"
)

// The filesystem commands the TensorFlow plugin calls. Errors read "<Code>: <uri>: <why>",
// Code being a TensorFlow error class (see fsapi.Code).

// filesystem is the filesystem of the node a command runs on, as the request sees it.
func filesystem(req *cmds.Request, env cmds.Environment) (*fsapi.FS, error) {
	s, err := service.Of(env)
	if err != nil {
		return nil, err
	}
	api, err := cmdenv.GetApi(env, req)
	if err != nil {
		return nil, err
	}
	return s.FS(api)
}

// reflogOf is the reflog of the repo a command runs on: its daemon's, when one runs in this
// process (one Log numbers and writes the entries), else the repo's file read directly.
func reflogOf(env cmds.Environment) (*reflog.Log, error) {
	if s := service.Running(env); s != nil {
		return s.Reflog, nil
	}
	repo, err := cmdenv.GetConfigRoot(env)
	if err != nil {
		return nil, err
	}
	return reflog.Open(repo), nil
}

// SettleBefore wraps every command under c so that it first waits for the repo's queued
// writes: kubo's own `files` commands then see every file closed before they ran.
func SettleBefore(c *cmds.Command) {
	if run := c.Run; run != nil {
		c.Run = func(req *cmds.Request, re cmds.ResponseEmitter, env cmds.Environment) error {
			if fs, err := filesystem(req, env); err == nil && fs.Pending != nil {
				if err := fs.Pending.WaitFor(req.Context, "/"); err != nil {
					return err
				}
			}
			return run(req, re, env)
		}
	}
	for _, sub := range c.Subcommands {
		SettleBefore(sub)
	}
}

var callerOptions = []cmds.Option{
	cmds.IntOption("pid", "Process the operation is done for (recorded in the reflog)."),
	cmds.StringOption("program", "Program the operation is done for (recorded in the reflog)."),
}

// noLogOption leaves an operation out of the reflog (fsapi.Caller.NoLog; the write-back
// journal's "nolog").
const noLogOption = "nolog"

func caller(req *cmds.Request) fsapi.Caller {
	pid, _ := req.Options["pid"].(int)
	program, _ := req.Options["program"].(string)
	return fsapi.Caller{Pid: pid, Program: program}
}

func uriArg(name, desc string) cmds.Argument { return cmds.StringArg(name, true, false, desc) }

// fsCommand builds a command whose Run gets the filesystem and emits one value.
func fsCommand[T any](tagline string, args []cmds.Argument, opts []cmds.Option,
	run func(req *cmds.Request, fs *fsapi.FS) (*T, error)) *cmds.Command {
	return &cmds.Command{
		Helptext:  cmds.HelpText{Tagline: tagline},
		Arguments: args,
		Options:   opts,
		Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
			fs, err := filesystem(req, env)
			if err != nil {
				return err
			}
			v, err := run(req, fs)
			if err != nil {
				return err
			}
			return cmds.EmitOnce(res, v)
		},
		Type:     *new(T),
		Encoders: jsonText[T](),
	}
}

var fsCommands = map[string]*cmds.Command{
	"stat": fsCommand("Describe the file or directory at an iptf:// URI.",
		[]cmds.Argument{uriArg("uri", "iptf:// URI")}, nil,
		func(req *cmds.Request, fs *fsapi.FS) (*protocol.Stat, error) {
			return fs.Stat(req.Context, req.Arguments[0])
		}),
	"ls": fsCommand("List the directory at an iptf:// URI.",
		[]cmds.Argument{uriArg("uri", "iptf:// URI of a directory")}, nil,
		func(req *cmds.Request, fs *fsapi.FS) (*protocol.Listing, error) {
			entries, err := fs.List(req.Context, req.Arguments[0])
			if entries == nil {
				entries = []protocol.Entry{}
			}
			return &protocol.Listing{Entries: entries}, err
		}),
	"open": fsCommand("Map a file for reading: where each byte range lives (recorded in the reflog).",
		[]cmds.Argument{uriArg("uri", "iptf:// URI of a file")},
		append([]cmds.Option{
			cmds.StringOption("known", "CID of a map the caller holds: if the file is that CID, the answer "+
				"leaves its spans out (Known)."),
		}, callerOptions...),
		func(req *cmds.Request, fs *fsapi.FS) (*protocol.Opened, error) {
			known, _ := req.Options["known"].(string)
			return fs.Open(req.Context, req.Arguments[0], known, caller(req))
		}),
	"write": fsCommand("Import a staged local file and put it at an iptf://repo/root/ URI.",
		[]cmds.Argument{uriArg("uri", "iptf:// URI to write")},
		append([]cmds.Option{
			cmds.StringOption("file", "Absolute path of the staged file to import."),
			cmds.Int64Option("size", "How many of the staged file's first bytes are its content (default: all)."),
			cmds.StringOption("base", "CID (or iptf://ipfs/ URI) whose content comes before the staged bytes: "+
				"the file is extended, not imported again."),
			cmds.Int64Option("offset", "With a base: where, in the staged file, the bytes after it start."),
			cmds.BoolOption("after-queued", "The base is what the writes queued for the URI leave there (base-size bytes): "+
				"an append opened before they were applied."),
			cmds.Int64Option("base-size", "With after-queued: the size of the file the appender started after."),
			cmds.BoolOption(noLogOption, "Leave the write out of the reflog."),
			cmds.BoolOption("queue", "Return once the file is queued: the node then owns the staged file and "+
				"applies it in the background; operations on the path wait for it."),
			cmds.BoolOption("keep", "With queue: a flush. The writer keeps writing the staged file; the node reads "+
				"its first size bytes and leaves the file to the writer, whose close hands it over."),
			cmds.BoolOption("next", "With queue: also hand out a staging file for the writer's next append to the URI "+
				"(the answer's Next), so that it need not ask for one when it opens the file again."),
			cmds.BoolOption("ahead", "With after-queued: the staged file is a next file; its bytes go after whatever "+
				"the file holds when this write is queued (base-size is what it held at the last write)."),
		}, callerOptions...),
		func(req *cmds.Request, fs *fsapi.FS) (*protocol.Written, error) {
			staged := staging.File{Size: staging.Whole}
			staged.Path, _ = req.Options["file"].(string)
			if size, ok := req.Options["size"].(int64); ok {
				if size < 0 {
					return nil, &fsapi.Error{Code: fsapi.InvalidArgument, URI: req.Arguments[0], Why: "size must not be negative"}
				}
				staged.Size = size
			}
			staged.Base, _ = req.Options["base"].(string)
			staged.Base = strings.TrimPrefix(staged.Base, uri.Scheme+"ipfs/")
			staged.Offset, _ = req.Options["offset"].(int64)
			staged.AfterQueued, _ = req.Options["after-queued"].(bool)
			staged.BaseSize, _ = req.Options["base-size"].(int64)
			staged.Kept, _ = req.Options["keep"].(bool)
			staged.Ahead, _ = req.Options["ahead"].(bool)
			if staged.Offset < 0 || staged.Offset > 0 && !staged.HasBase() || staged.Size >= 0 && staged.Offset > staged.Size {
				return nil, &fsapi.Error{Code: fsapi.InvalidArgument, URI: req.Arguments[0],
					Why: "offset must lie within the staged bytes, and needs a base"}
			}
			who := caller(req)
			who.NoLog, _ = req.Options[noLogOption].(bool)
			if queue, _ := req.Options["queue"].(bool); queue {
				written, err := fs.WriteBack(req.Context, req.Arguments[0], staged, who)
				if next, _ := req.Options["next"].(bool); next && err == nil && written.Queued && !staged.Kept {
					written.Next = fs.StageNext(req.Arguments[0])
				}
				return written, err
			}
			return fs.Write(req.Context, req.Arguments[0], staged, who)
		}),
	"mkdir": fsCommand("Create a directory under iptf://repo/root/.",
		[]cmds.Argument{uriArg("uri", "iptf:// URI of the directory")},
		[]cmds.Option{cmds.BoolOption("parents", "Create missing parents; an existing directory is no error.")},
		func(req *cmds.Request, fs *fsapi.FS) (*protocol.Done, error) {
			parents, _ := req.Options["parents"].(bool)
			return &protocol.Done{}, fs.Mkdir(req.Context, req.Arguments[0], parents)
		}),
	"rm": fsCommand("Remove a file, an empty directory or a tree under iptf://repo/root/.",
		[]cmds.Argument{uriArg("uri", "iptf:// URI to remove")},
		append([]cmds.Option{cmds.StringOption("kind", "file, dir (empty) or recursive.").WithDefault(fsapi.RemoveFile)},
			callerOptions...),
		func(req *cmds.Request, fs *fsapi.FS) (*protocol.Done, error) {
			kind, _ := req.Options["kind"].(string)
			return &protocol.Done{}, fs.Remove(req.Context, req.Arguments[0], kind, caller(req))
		}),
	"mv": fsCommand("Rename within iptf://repo/root/, replacing a file at the destination.",
		[]cmds.Argument{uriArg("source", "source URI"), uriArg("destination", "destination URI")}, nil,
		func(req *cmds.Request, fs *fsapi.FS) (*protocol.Done, error) {
			return &protocol.Done{}, fs.Move(req.Context, req.Arguments[0], req.Arguments[1])
		}),
	"cp": fsCommand("Copy a file from any iptf:// URI into iptf://repo/root/ without moving bytes.",
		[]cmds.Argument{uriArg("source", "source URI"), uriArg("destination", "destination URI")}, callerOptions,
		func(req *cmds.Request, fs *fsapi.FS) (*protocol.Written, error) {
			return fs.Copy(req.Context, req.Arguments[0], req.Arguments[1], caller(req))
		}),
	"glob": fsCommand("List the iptf:// URIs matching a pattern (*, ?, [...] per path segment).",
		[]cmds.Argument{uriArg("pattern", "iptf:// pattern")}, nil,
		func(req *cmds.Request, fs *fsapi.FS) (*protocol.Matches, error) {
			m, err := fs.Glob(req.Context, req.Arguments[0])
			if m == nil {
				m = []string{}
			}
			return &protocol.Matches{Matches: m}, err
		}),
}

var readCmd = &cmds.Command{
	Helptext: cmds.HelpText{
		Tagline: "Read a byte range of a file, fetching its blocks (and, for sequential reads, the next window) from peers.",
	},
	Arguments: []cmds.Argument{uriArg("uri", "iptf:// URI of a file")},
	Options: append([]cmds.Option{
		cmds.Int64Option("offset", "Where to start.").WithDefault(int64(0)),
		cmds.Int64Option("length", "How many bytes (at most)."),
	}, callerOptions...),
	Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		fs, err := filesystem(req, env)
		if err != nil {
			return err
		}
		offset, _ := req.Options["offset"].(int64)
		length, ok := req.Options["length"].(int64)
		if offset < 0 || ok && length < 0 {
			return cmds.Errorf(cmds.ErrClient, "offset and length cannot be negative")
		}
		if !ok {
			length = 1 << 62
		}
		// A read made for a process (--pid) is recorded; the plugin's reads of missing spans
		// are not, as its open already was.
		who := caller(req)
		who.NoLog = who.Pid == 0
		r, err := fs.Read(req.Context, req.Arguments[0], uint64(offset), uint64(length), who)
		if err != nil {
			return err
		}
		return emitStream(res, r)
	},
}

func init() {
	Root.Subcommands["read"] = readCmd
	streamsInChunks(readCmd)
	for name, c := range fsCommands {
		Root.Subcommands[name] = c
	}
}
