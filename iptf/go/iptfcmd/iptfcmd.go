// Package iptfcmd holds IPTF's own commands in the node's RPC API, under /api/v0/iptf/.
package iptfcmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ipfs/boxo/mfs"
	"github.com/ipfs/boxo/path"
	cmds "github.com/ipfs/go-ipfs-cmds"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/core/commands/cmdenv"
	"github.com/ipfs/kubo/repo/fsrepo"
	"github.com/multiformats/go-multiaddr"

	"iptf.io/node/blockmap"
	"iptf.io/node/fsapi"
	"iptf.io/node/lifecycle"
	"iptf.io/node/peerguard"
	"iptf.io/node/repodir"
	"iptf.io/node/retention"
	"iptf.io/node/staging"
	"iptf.io/node/writeback"
)

// Root is the `iptf` command group.
var Root = &cmds.Command{
	Helptext: cmds.HelpText{
		Tagline: "IPTF's own node commands.",
	},
	Subcommands: map[string]*cmds.Command{
		"blockmap": blockmapCmd,
		"status":   statusCmd,
	},
}

// nodeAndRepo is the node a command runs on and its repo's path.
func nodeAndRepo(env cmds.Environment) (*core.IpfsNode, string, error) {
	node, err := cmdenv.GetNode(env)
	if err != nil {
		return nil, "", err
	}
	repo, err := cmdenv.GetConfigRoot(env)
	return node, repo, err
}

// jsonText prints a command's result as indented JSON on the terminal too.
func jsonText[T any]() cmds.EncoderMap {
	return cmds.EncoderMap{
		cmds.Text: cmds.MakeTypedEncoder(func(req *cmds.Request, w io.Writer, v *T) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}),
	}
}

const mfsOption = "mfs"

var blockmapCmd = &cmds.Command{
	Helptext: cmds.HelpText{
		Tagline: "Show where a file's bytes live in the local blockstore.",
		ShortDescription: `
Resolves an /ipfs/ or /ipns/ path (or, with --mfs, a path in the node's MFS) and lists the
file's byte ranges: for each, the block holding it, whether that block is stored locally and,
when it is, the block file and the offset of the bytes inside it. Blocks that are not stored
locally are not fetched; their whole subtree is listed as one range.
`,
	},
	Arguments: []cmds.Argument{
		cmds.StringArg("path", true, false, "Path to a file: /ipfs/<cid>[/...], /ipns/<name>[/...] or an MFS path with --mfs."),
	},
	Options: []cmds.Option{
		cmds.BoolOption(mfsOption, "Treat the path as a path in the node's MFS."),
	},
	Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		node, err := cmdenv.GetNode(env)
		if err != nil {
			return err
		}
		var nd ipld.Node
		arg := req.Arguments[0]
		if useMFS, _ := req.Options[mfsOption].(bool); useMFS {
			if !strings.HasPrefix(arg, "/") {
				return cmds.Errorf(cmds.ErrClient, "MFS path must start with /: %q", arg)
			}
			fsn, err := mfs.Lookup(node.FilesRoot, arg)
			if err != nil {
				return fmt.Errorf("%s: %w", arg, err)
			}
			if nd, err = fsn.GetNode(); err != nil {
				return err
			}
		} else {
			api, err := cmdenv.GetApi(env, req)
			if err != nil {
				return err
			}
			p, err := path.NewPath(arg)
			if err != nil {
				return cmds.Errorf(cmds.ErrClient, "%s", err)
			}
			if nd, err = api.ResolveNode(req.Context, p); err != nil {
				return err
			}
		}
		cfgRoot, err := cmdenv.GetConfigRoot(env)
		if err != nil {
			return err
		}
		b := &blockmap.Builder{Blocks: node.Blockstore, Locator: blockmap.NewLocator(cfgRoot)}
		m, err := b.Build(req.Context, nd)
		if err != nil {
			return err
		}
		return cmds.EmitOnce(res, m)
	},
	Type:     blockmap.Map{},
	Encoders: jsonText[blockmap.Map](),
}

// Status describes the running node.
type Status struct {
	Repo        string
	ApiSocket   string // the Unix socket the node's RPC API listens on, for clients to dial
	Pid         int
	ID          string
	Online      bool
	OnDemand    bool   // started on demand, so it stops when idle
	IdleTimeout string // idle time after which an on-demand node stops
	IdleFor     string // time since the last command
	// DroppedPeers are peers disconnected for sending bad blocks, with the reason.
	DroppedPeers map[string]peerguard.Drop `json:",omitempty"`
	// QueuedWrites is how many closed files (and renames of them) wait to enter the tree.
	QueuedWrites int
	// FailedWrites are queued changes that could not be applied (their bytes are kept).
	FailedWrites []writeback.Failure `json:",omitempty"`
	// AbandonedWrites are staging files whose writer ended before closing them; their bytes are
	// kept for staging.AbandonedGrace, then removed.
	AbandonedWrites []staging.Abandoned `json:",omitempty"`
	// ReflogKeeps is what garbage collection keeps because the reflog names it.
	ReflogKeeps *retention.Summary `json:",omitempty"`
}

// apiSocket is the path of the Unix socket the node's API listens on ("" for another kind).
func apiSocket(repo string) string {
	addr, err := fsrepo.APIAddr(repo)
	if err != nil || addr == nil {
		return ""
	}
	if p, err := addr.ValueForProtocol(multiaddr.P_UNIX); err == nil {
		return p
	}
	return ""
}

// ErrNoNode is status's answer when no node runs for the repo.
var ErrNoNode error = &fsapi.Error{Code: fsapi.Unavailable, Why: "no IPTF node is running for this repo"}

// StatusCmd reports on the node without counting as activity.
var StatusCmd = statusCmd

var statusCmd = &cmds.Command{
	Helptext: cmds.HelpText{
		Tagline: "Show the running IPTF node: repo, process, identity and idle state.",
	},
	NoLocal: true,
	Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		node, cfgRoot, err := nodeAndRepo(env)
		if err != nil {
			return err
		}
		// Run without a daemon, this command would describe its own short-lived process.
		if !node.IsDaemon {
			return ErrNoNode
		}
		s := &Status{
			Repo:         cfgRoot,
			ApiSocket:    apiSocket(cfgRoot),
			Pid:          os.Getpid(),
			ID:           node.Identity.String(),
			Online:       node.IsOnline,
			OnDemand:     lifecycle.StartedOnDemand(),
			IdleFor:      lifecycle.Global.IdleFor().Round(time.Millisecond).String(),
			DroppedPeers: peerguard.Global.Dropped(),
		}
		if s.OnDemand {
			s.IdleTimeout = lifecycle.IdleTimeout().String()
		}
		// Opening the queue applies what a stopped node left in its journal.
		if fs, err := filesystem(req, env); err == nil && fs.Pending != nil {
			s.QueuedWrites, s.FailedWrites = fs.Pending.Len(), fs.Pending.Failures()
			// Where processes' open files cannot be listed, none is called abandoned.
			s.AbandonedWrites, _ = staging.Sweep(repodir.Staging(cfgRoot), fs.Pending.Owns, staging.AbandonedGrace,
				time.Now())
		}
		if keeps, err := retention.Kept(node, repoReflog(cfgRoot)); err == nil {
			s.ReflogKeeps = keeps
		}
		return cmds.EmitOnce(res, s)
	},
	Type:     Status{},
	Encoders: jsonText[Status](),
}
