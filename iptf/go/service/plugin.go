package service

import (
	"context"

	"github.com/ipfs/boxo/bitswap"
	bstore "github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/mfs"
	pin "github.com/ipfs/boxo/pinning/pinner"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/core/node"
	"github.com/ipfs/kubo/plugin"
	"github.com/ipfs/kubo/repo"
	"go.uber.org/fx"

	"iptf.io/node/peerguard"
)

// Plugin installs a peer guard in each node's bitswap as the node is built, and makes a
// daemon's service as its node starts.
type Plugin struct{}

var (
	_ plugin.PluginFx             = (*Plugin)(nil)
	_ plugin.PluginDaemonInternal = (*Plugin)(nil)
)

// Plugins lists the plugins this package contributes to the node.
var Plugins = []plugin.Plugin{&Plugin{}}

// Name implements plugin.Plugin.
func (*Plugin) Name() string { return "iptf-service" }

// Version implements plugin.Plugin.
func (*Plugin) Version() string { return "0.1.0" }

// Init implements plugin.Plugin.
func (*Plugin) Init(*plugin.Environment) error { return nil }

// usedByService are the parts of a node its service writes through. fx stops a graph's parts in
// the reverse of the order it built them, so a stop hook appended once these are built runs
// before any of them closes.
type usedByService struct {
	fx.In
	Repo       repo.Repo           `optional:"true"`
	FilesRoot  *mfs.Root           `optional:"true"`
	DAG        ipld.DAGService     `optional:"true"`
	Blockstore bstore.GCBlockstore `optional:"true"`
	Pinning    pin.Pinner          `optional:"true"`
	Provider   node.DHTProvider    `optional:"true"`
}

// builtBitswap is the node's bitswap, once built (none offline).
type builtBitswap struct {
	fx.In
	Bitswap *bitswap.Bitswap `optional:"true"`
}

// Options gives the node being built (kubo asks once per node) a new guard as a bitswap
// tracer, and hands the guard on to the node's service.
func (*Plugin) Options(info core.FXNodeInfo) ([]fx.Option, error) {
	guard := peerguard.New()
	withTracer := fx.Annotate(
		func() []bitswap.Option { return []bitswap.Option{bitswap.WithTracer(guard)} },
		fx.ResultTags(`group:"bitswap-options,flatten"`),
	)
	handOff := func(built builtBitswap, lc fx.Lifecycle) {
		if built.Bitswap == nil {
			return
		}
		forget := handOffGuard(built.Bitswap, guard)
		lc.Append(fx.Hook{OnStop: func(context.Context) error { forget(); return nil }})
	}
	// The service's background work (queued writes, eviction) ends before the repo and the
	// tree it writes to close; a write cut short stays journaled for the next run.
	stopFirst := func(used usedByService, lc fx.Lifecycle) {
		if used.Repo == nil {
			return
		}
		lc.Append(fx.Hook{OnStop: func(ctx context.Context) error { stopServicesOf(ctx, used.Repo); return nil }})
	}
	return append(info.FXOptions, fx.Provide(withTracer), fx.Invoke(handOff), fx.Invoke(stopFirst)), nil
}

// Start makes the daemon's service as its node starts.
func (*Plugin) Start(node *core.IpfsNode) error {
	s, err := For(node)
	if err != nil {
		return err
	}
	s.startDaemon()
	return nil
}
