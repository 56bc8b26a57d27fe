package iptfcmd

import (
	"fmt"
	"io"

	"github.com/dustin/go-humanize"
	cmds "github.com/ipfs/go-ipfs-cmds"

	"iptf.io/node/cache"
	"iptf.io/node/protocol"
	"iptf.io/node/service"
)

// Cache is the `cache` command: the limit on fetched content and what the repo holds.
var Cache = &cmds.Command{
	Helptext: cmds.HelpText{
		Tagline: "Show the cache's limit, and what the repo keeps and may evict.",
		ShortDescription: `
Content fetched from peers is cache: when the repo holds more of it than the limit, the
least recently used blocks are evicted (a read of them fetches them again). Pinned content,
the writable tree (iptf://repo/root) and what the reflog keeps are never evicted. The limit
is $IPTF_CACHE_MAX, else Plugins.Plugins.iptf.Config.CacheMax ("20GB", "512MiB"), else half
of the free disk plus what the repo holds. 'iptf cache' marks what is kept now (as garbage
collection does) without evicting anything.
`,
	},
	Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		s, err := service.Of(env)
		if err != nil {
			return err
		}
		if s.Cache == nil {
			return cmds.EmitOnce(res, cacheStatus(s))
		}
		stats, err := s.Cache.Round(req.Context, true)
		if err != nil {
			return err
		}
		return cmds.EmitOnce(res, cacheFigures(stats))
	},
	Type: protocol.CacheStatus{},
	Encoders: cmds.EncoderMap{
		cmds.Text: cmds.MakeTypedEncoder(func(req *cmds.Request, w io.Writer, c *protocol.CacheStatus) error {
			_, err := fmt.Fprintln(w, CacheText(*c))
			return err
		}),
	},
}

// cacheStatus is the service's cache as of its last round (for status), or why it is off.
func cacheStatus(s *service.Service) *protocol.CacheStatus {
	switch {
	case s.Cache != nil:
		return cacheFigures(s.Cache.Stats(s.Node.Context()))
	case s.CacheError != nil:
		return &protocol.CacheStatus{Error: s.CacheError.Error()}
	default:
		return nil // not a daemon: nothing is cached between commands
	}
}

func cacheFigures(st cache.Stats) *protocol.CacheStatus {
	return &protocol.CacheStatus{Limit: st.Limit.Bytes, LimitFrom: st.Limit.From, Used: st.Used, Kept: st.Kept,
		Evictable: st.Evictable, Evicted: st.Evicted, Rounds: st.Rounds, LastRound: st.LastRound}
}

// CacheText says in words what the cache holds.
func CacheText(c protocol.CacheStatus) string {
	if c.Error != "" {
		return "the cache is off (nothing fetched is evicted): " + c.Error
	}
	return fmt.Sprintf("cache limit %s (%s): the repo holds %s; %s kept (pinned, the writable tree, the reflog's), "+
		"%s evictable; %s evicted since the node started",
		humanize.IBytes(c.Limit), c.LimitFrom, humanize.IBytes(c.Used), humanize.IBytes(c.Kept),
		humanize.IBytes(c.Evictable), humanize.IBytes(c.Evicted))
}
