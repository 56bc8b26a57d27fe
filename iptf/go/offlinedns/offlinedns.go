// Package offlinedns keeps an offline node off the network entirely. kubo's offline mode stops
// libp2p, but names are still resolved through DNS (DNSLink for /ipns/<domain>), which sends
// queries to the machine's resolver. An offline IPTF node dials nothing: its DNS resolver
// refuses every lookup instead.
package offlinedns

import (
	"context"
	"fmt"
	"net"

	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/plugin"
	madns "github.com/multiformats/go-multiaddr-dns"
	"go.uber.org/fx"
)

// Plugin replaces the node's DNS resolver with one that refuses lookups, when Enable was called.
type Plugin struct{}

var _ plugin.PluginFx = (*Plugin)(nil)

// Plugins lists the plugins this package contributes to the node.
var Plugins = []plugin.Plugin{&Plugin{}}

var enabled bool

// Enable makes nodes built by this process offline-only for DNS too; the launcher calls it for
// offline runs (IPTF_OFFLINE=1, --offline) before kubo builds the node.
func Enable() { enabled = true }

// Name implements plugin.Plugin.
func (*Plugin) Name() string { return "iptf-offline-dns" }

// Version implements plugin.Plugin.
func (*Plugin) Version() string { return "0.1.0" }

// Init implements plugin.Plugin.
func (*Plugin) Init(*plugin.Environment) error { return nil }

// Options swaps in the refusing resolver for an offline run.
func (*Plugin) Options(info core.FXNodeInfo) ([]fx.Option, error) {
	if !enabled {
		return info.FXOptions, nil
	}
	return append(info.FXOptions, fx.Decorate(func(*madns.Resolver) (*madns.Resolver, error) {
		return Resolver()
	})), nil
}

// Resolver is a DNS resolver that answers every lookup with an error, without any traffic.
func Resolver() (*madns.Resolver, error) {
	return madns.NewResolver(madns.WithDefaultResolver(refuse{}))
}

type refuse struct{}

// ErrOffline is what every lookup of an offline node's resolver returns.
var ErrOffline = fmt.Errorf("the node is offline: DNS names are not resolved")

func (refuse) LookupIPAddr(_ context.Context, name string) ([]net.IPAddr, error) {
	return nil, fmt.Errorf("%s: %w", name, ErrOffline)
}

func (refuse) LookupTXT(_ context.Context, name string) ([]string, error) {
	return nil, fmt.Errorf("%s: %w", name, ErrOffline)
}
