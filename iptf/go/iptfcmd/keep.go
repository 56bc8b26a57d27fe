package iptfcmd

import (
	"fmt"
	"io"
	"time"

	"github.com/dustin/go-humanize"
	cmds "github.com/ipfs/go-ipfs-cmds"

	"iptf.io/node/protocol"
	"iptf.io/node/reflog"
	"iptf.io/node/retention"
	"iptf.io/node/service"
)

// GuardBlockRemoval wraps the commands under root that remove blocks: `repo gc` first makes
// the collector keep what the reflog's recent entries name (if that fails, nothing is
// collected: losing what the reflog promises is worse than a full disk); after `repo gc` and
// `block rm`, the block maps kept for files whose blocks may be gone are forgotten.
func GuardBlockRemoval(root *cmds.Command) {
	gc := root.Subcommands["repo"].Subcommands["gc"]
	collect := gc.Run
	gc.Run = func(req *cmds.Request, re cmds.ResponseEmitter, env cmds.Environment) error {
		s, err := service.Of(env)
		if err != nil {
			return err
		}
		if _, err := s.Retention.Keep(req.Context, s.Reflog); err != nil {
			return err
		}
		defer s.ForgetBlockMaps()
		return collect(req, re, env)
	}
	for _, release := range []*cmds.Command{root.Subcommands["pin"].Subcommands["rm"],
		root.Subcommands["files"].Subcommands["rm"], Reflog.Subcommands["expire"]} {
		recountAfter(release)
	}
	rm := root.Subcommands["block"].Subcommands["rm"]
	remove := rm.Run
	rm.Run = func(req *cmds.Request, re cmds.ResponseEmitter, env cmds.Environment) error {
		if s := service.Running(env); s != nil { // only a daemon keeps block maps between commands
			defer s.ForgetBlockMaps()
		}
		return remove(req, re, env)
	}
}

// recountAfter makes c, a command after which content may no longer be kept, tell the cache
// to count what is evictable again.
func recountAfter(c *cmds.Command) {
	run := c.Run
	c.Run = func(req *cmds.Request, re cmds.ResponseEmitter, env cmds.Environment) error {
		if s := service.Running(env); s != nil && s.Cache != nil {
			defer s.Cache.Released()
		}
		return run(req, re, env)
	}
}

var reflogExpire = &cmds.Command{
	Helptext: cmds.HelpText{
		Tagline: "Remove old reflog entries; the content only they named can then be garbage collected.",
		ShortDescription: `
Content named by reflog entries younger than the retention period (90 days unless
Plugins.Plugins.iptf.Config.ReflogRetention says otherwise, e.g. "30d") survives
'iptf repo gc'. 'reflog expire' removes the entries older than --older-than (default: the
retention period); 'reflog expire --older-than now' removes them all, so that the next
'iptf repo gc' frees what only they kept.
`,
	},
	Options: []cmds.Option{
		cmds.StringOption("older-than", "Remove entries older than this age (90d, 36h, now); default: the retention period."),
	},
	Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		s, err := service.Of(env)
		if err != nil {
			return err
		}
		age, err := retention.Period(s.Node)
		if err != nil {
			return err
		}
		if s, _ := req.Options["older-than"].(string); s != "" {
			if age, err = reflog.ParseAge(s); err != nil {
				return cmds.Errorf(cmds.ErrClient, "--older-than: %s", err)
			}
		}
		removed, err := s.Reflog.Expire(time.Now().Add(-age))
		if err != nil {
			return err
		}
		keeps, err := s.Retention.Keep(req.Context, s.Reflog)
		if err != nil {
			return err
		}
		return cmds.EmitOnce(res, &protocol.Expired{Removed: removed, Keeps: protocol.ReflogKeeps(*keeps)})
	},
	Type: protocol.Expired{},
	Encoders: cmds.EncoderMap{
		cmds.Text: cmds.MakeTypedEncoder(func(req *cmds.Request, w io.Writer, e *protocol.Expired) error {
			_, err := fmt.Fprintf(w, "removed %d reflog entries; %s\n", e.Removed, KeepsText(e.Keeps))
			return err
		}),
	},
}

// KeepsText says in words what the reflog keeps.
func KeepsText(s protocol.ReflogKeeps) string {
	cids := "CIDs"
	if s.Cids == 1 {
		cids = "CID"
	}
	return fmt.Sprintf("the reflog keeps %d %s (%s) named in the last %s through garbage collection",
		s.Cids, cids, humanize.IBytes(s.Bytes), s.Period)
}

func init() {
	Reflog.Subcommands["expire"] = reflogExpire
}
