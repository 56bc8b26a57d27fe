package fetch

import (
	"time"

	"github.com/ipfs/boxo/bitswap"
	bsclient "github.com/ipfs/boxo/bitswap/client"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/plugin"
	"go.uber.org/fx"
)

// minDontHaveTimeout is how long a want-block may wait for its block before bitswap takes the
// silence for a DONT_HAVE and asks another peer. Bitswap's own floor (50 ms) fits small
// objects; a dataset's blocks queue behind each other on a busy link, and re-asking for blocks
// that are merely queued sends them twice (a quarter of the blocks, measured with four
// rate-limited providers). A peer that really does not answer is still passed over.
const minDontHaveTimeout = 2 * time.Second

// Plugin tunes the node's bitswap for bulk transfers.
type Plugin struct{}

var _ plugin.PluginFx = (*Plugin)(nil)

// Plugins lists the plugins this package contributes to the node.
var Plugins = []plugin.Plugin{&Plugin{}}

// Name implements plugin.Plugin.
func (*Plugin) Name() string { return "iptf-fetch" }

// Version implements plugin.Plugin.
func (*Plugin) Version() string { return "0.1.0" }

// Init implements plugin.Plugin.
func (*Plugin) Init(*plugin.Environment) error { return nil }

// Options adds IPTF's bitswap settings.
func (*Plugin) Options(info core.FXNodeInfo) ([]fx.Option, error) {
	cfg := bsclient.DefaultDontHaveTimeoutConfig()
	cfg.MinTimeout = minDontHaveTimeout
	cfg.MaxTimeout = max(cfg.MaxTimeout, cfg.MinTimeout)
	opts := fx.Annotate(
		func() []bitswap.Option {
			return []bitswap.Option{bitswap.WithClientOption(bsclient.WithDontHaveTimeoutConfig(cfg))}
		},
		fx.ResultTags(`group:"bitswap-options,flatten"`),
	)
	return append(info.FXOptions, fx.Provide(opts)), nil
}
