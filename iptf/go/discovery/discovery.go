// Package discovery makes the node's mDNS discovery retry a connection that fails.
//
// kubo connects once to each peer mDNS reports, and mDNS reports a peer once for as long as
// its record lives (zeroconf keeps it 3200 s). Two nodes that find each other at the same
// moment (the usual case: a starting node's query and its announcement reach the other node
// together) dial each other at once; with TCP port reuse both dials use the same address pair,
// meet as one TCP simultaneous open, and both fail the security handshake, each side acting
// as the initiator. Neither dials again, so the two nodes stay apart for the record's
// lifetime. Retrying after a random pause breaks the symmetry.
package discovery

import (
	"context"
	"math/rand/v2"
	"time"

	logging "github.com/ipfs/go-log/v2"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/core/node/helpers"
	"github.com/ipfs/kubo/core/node/libp2p"
	"github.com/ipfs/kubo/plugin"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/fx"
)

var log = logging.Logger("iptf/discovery")

// Retry pauses: random within [½, 1½) of firstPause·2^attempt, at most maxPause. kubo gives
// each discovered peer 30 s to connect; this fits about ten attempts in it.
const (
	firstPause = 250 * time.Millisecond
	maxPause   = 4 * time.Second
)

// Plugin gives kubo's discovery handler a host whose Connect retries.
type Plugin struct{}

var _ plugin.PluginFx = (*Plugin)(nil)

// Plugins lists the plugins this package contributes to the node.
var Plugins = []plugin.Plugin{&Plugin{}}

// Name implements plugin.Plugin.
func (*Plugin) Name() string { return "iptf-discovery" }

// Version implements plugin.Plugin.
func (*Plugin) Version() string { return "0.1.0" }

// Init implements plugin.Plugin.
func (*Plugin) Init(*plugin.Environment) error { return nil }

// Options rebuilds kubo's discovery handler over a retrying host; only the handler sees it.
func (*Plugin) Options(info core.FXNodeInfo) ([]fx.Option, error) {
	return append(info.FXOptions, fx.Decorate(rebuild(libp2p.DiscoveryHandler))), nil
}

// rebuild returns an fx decorator that replaces the handler newHandler made with one over a
// retrying host. (The handler's type is kubo's own, unexported: T names it.)
func rebuild[T any](newHandler func(helpers.MetricsCtx, fx.Lifecycle, host.Host) T) func(helpers.MetricsCtx, fx.Lifecycle, host.Host, T) T {
	return func(mctx helpers.MetricsCtx, lc fx.Lifecycle, h host.Host, _ T) T {
		return newHandler(mctx, lc, Retrying{Host: h})
	}
}

// Retrying is a host whose Connect tries again, after a random pause, until it succeeds or
// its context ends.
type Retrying struct {
	host.Host
}

// Connect connects to p, retrying failed dials until ctx ends. Retries skip the swarm's dial
// backoff, which would otherwise refuse them for the first failure's 5 s.
func (r Retrying) Connect(ctx context.Context, p peer.AddrInfo) error {
	err := r.Host.Connect(ctx, p)
	for attempt := 0; err != nil; attempt++ {
		pause := min(firstPause<<min(attempt, 5), maxPause)
		pause = pause/2 + rand.N(pause)
		log.Debugf("connecting to %s failed (%s); trying again in %s", p.ID, err, pause)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return err
		}
		err = r.Host.Connect(network.WithForceDirectDial(ctx, "retrying a discovered peer"), p)
	}
	return nil
}
