// Package iptfcmd holds IPTF's own commands in the node's RPC API, under /api/v0/iptf/.
package iptfcmd

import (
	"encoding/json"
	"io"
	"os"
	"time"

	cmds "github.com/ipfs/go-ipfs-cmds"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/core/commands/cmdenv"
	"github.com/ipfs/kubo/repo/fsrepo"
	"github.com/multiformats/go-multiaddr"

	"iptf.io/node/fsapi"
	"iptf.io/node/lifecycle"
	"iptf.io/node/peerguard"
	"iptf.io/node/protocol"
	"iptf.io/node/repodir"
	"iptf.io/node/retention"
	"iptf.io/node/service"
	"iptf.io/node/staging"
	"iptf.io/node/uri"
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

var blockmapCmd = fsCommand("Show where a file's bytes live in the local blockstore.",
	[]cmds.Argument{uriArg("uri", "iptf:// URI of a file or directory (iptf://ipfs/, iptf://ipns/ or iptf://repo/root/)")}, nil,
	func(req *cmds.Request, fs *fsapi.FS) (*protocol.FileMap, error) {
		return fs.BlockMap(req.Context, req.Arguments[0])
	})

func init() {
	blockmapCmd.Helptext.ShortDescription = `
Lists the byte ranges of the file at an iptf:// URI: for each, the block holding it, whether
that block is stored locally and, when it is, the block file and the offset of the bytes inside
it. Blocks that are not stored locally are not fetched; their whole subtree is listed as one
range.
`
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
		svc, err := service.For(node)
		if err != nil {
			return err
		}
		s := &protocol.Status{
			Repo:         cfgRoot,
			ApiSocket:    apiSocket(cfgRoot),
			Pid:          os.Getpid(),
			ID:           node.Identity.String(),
			Online:       node.IsOnline,
			OnDemand:     lifecycle.StartedOnDemand(),
			IdleFor:      svc.Activity.IdleFor().Round(time.Millisecond).String(),
			DroppedPeers: droppedPeers(svc.Guard.Dropped()),
		}
		if s.OnDemand {
			s.IdleTimeout = lifecycle.IdleTimeout().String()
		}
		// Opening the queue applies what a stopped node left in its journal.
		fs, err := filesystem(req, env)
		if err != nil {
			s.WritebackError = err.Error()
		} else if fs.Pending != nil {
			s.QueuedWrites, s.FailedWrites = fs.Pending.Len(), failedWrites(fs.Pending.Failures())
			// Where processes' open files cannot be listed, none is called abandoned.
			abandoned, _ := staging.Sweep(repodir.Staging(cfgRoot), fs.Pending.Owns, staging.AbandonedGrace,
				time.Now())
			s.AbandonedWrites = abandonedWrites(abandoned)
		}
		s.Cache = cacheStatus(svc)
		if keeps, err := retention.Kept(node, svc.Reflog); err == nil {
			k := protocol.ReflogKeeps(*keeps)
			s.ReflogKeeps = &k
		}
		return cmds.EmitOnce(res, s)
	},
	Type:     protocol.Status{},
	Encoders: jsonText[protocol.Status](),
}

// droppedPeers is the guard's record as the protocol says it.
func droppedPeers(dropped map[string]peerguard.Drop) map[string]protocol.DroppedPeer {
	out := make(map[string]protocol.DroppedPeer, len(dropped))
	for id, d := range dropped {
		out[id] = protocol.DroppedPeer(d)
	}
	return out
}

// failedWrites are the queue's failures, its tree paths given as iptf:// URIs.
func failedWrites(failures []writeback.Failure) []protocol.FailedWrite {
	out := []protocol.FailedWrite{}
	for _, f := range failures {
		w := protocol.FailedWrite{Kind: string(f.Op.Kind), Staged: f.Op.Staged, Why: f.Why, Code: f.Code,
			Superseded: f.Superseded}
		if f.Op.Path != "" {
			w.Uri = uri.Format(uri.Repo, f.Op.Path)
		}
		if f.Op.Dst != "" {
			w.Destination = uri.Format(uri.Repo, f.Op.Dst)
		}
		out = append(out, w)
	}
	return out
}

func abandonedWrites(files []staging.Abandoned) []protocol.AbandonedWrite {
	var out []protocol.AbandonedWrite
	for _, a := range files {
		out = append(out, protocol.AbandonedWrite(a))
	}
	return out
}
