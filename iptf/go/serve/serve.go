// Package serve exposes a node to other IPFS implementations over HTTP: the trustless gateway
// (raw blocks and CARs, with byte ranges) and delegated routing v1. It never exposes the RPC
// API or the writable tree, and serves only blocks the node already has.
package serve

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/ipfs/boxo/blockservice"
	offline "github.com/ipfs/boxo/exchange/offline"
	"github.com/ipfs/boxo/gateway"
	"github.com/ipfs/boxo/namesys"
	offlineroute "github.com/ipfs/boxo/routing/offline"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/core/corehttp"
	kubonode "github.com/ipfs/kubo/core/node"
	"github.com/ipfs/kubo/plugin"
	irouting "github.com/ipfs/kubo/routing"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// EnvAddr carries the address `iptf serve` listens on to the node it starts.
const EnvAddr = "IPTF_SERVE_ADDR"

// DefaultAddr is where `iptf serve` listens unless told otherwise: loopback only.
const DefaultAddr = "/ip4/127.0.0.1/tcp/8080"

// ParseAddr accepts a multiaddr or host:port and returns the multiaddr.
func ParseAddr(s string) (ma.Multiaddr, error) {
	if strings.HasPrefix(s, "/") {
		return ma.NewMultiaddr(s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: use host:port or a multiaddr", s)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	proto := "ip4"
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		proto = "ip6"
	} else if ip == nil {
		proto = "dns"
	}
	return ma.NewMultiaddr(fmt.Sprintf("/%s/%s/tcp/%s", proto, host, port))
}

// Plugin starts the HTTP server in a daemon run by `iptf serve`.
type Plugin struct{}

var _ plugin.PluginDaemonInternal = (*Plugin)(nil)

// Plugins lists the plugins this package contributes to the node.
var Plugins = []plugin.Plugin{&Plugin{}}

// Name implements plugin.Plugin.
func (*Plugin) Name() string { return "iptf-serve" }

// Version implements plugin.Plugin.
func (*Plugin) Version() string { return "0.1.0" }

// Init implements plugin.Plugin.
func (*Plugin) Init(*plugin.Environment) error { return nil }

// Start listens on $IPTF_SERVE_ADDR, when set, and serves the gateway and routing there.
func (*Plugin) Start(node *core.IpfsNode) error {
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		return nil
	}
	maddr, err := ParseAddr(addr)
	if err != nil {
		return err
	}
	lis, err := manet.Listen(maddr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Printf("Trustless gateway and routing v1 listening on http://%s\n", lis.Addr())
	go func() {
		err := corehttp.Serve(node, manet.NetListener(lis), TrustlessGateway(), corehttp.RoutingOption())
		if err != nil {
			fmt.Fprintf(os.Stderr, "serve: %s\n", err)
		}
	}()
	return nil
}

// TrustlessGateway serves /ipfs/ and /ipns/ as verifiable responses only (raw blocks, CARs,
// IPNS records), from the node's local blocks.
func TrustlessGateway() corehttp.ServeOption {
	return func(n *core.IpfsNode, _ net.Listener, mux *http.ServeMux) (*http.ServeMux, error) {
		local := blockservice.New(n.Blockstore, offline.Exchange(n.Blockstore))
		// IPNS records too come from the repo only (those the node published, imported with
		// `routing put`, or holds from the DHT), as with kubo's Gateway.NoFetch: the value store
		// serves ?format=ipns-record and the name system resolves /ipns/ paths from it.
		records := offlineroute.NewOfflineRouter(irouting.DHTValueDatastore(n.Repo.Datastore()), n.RecordValidator)
		names, err := namesys.NewNameSystem(records, namesys.WithDatastore(n.Repo.Datastore()),
			namesys.WithDNSResolver(n.DNSResolver), namesys.WithCache(kubonode.DefaultIpnsCacheSize))
		if err != nil {
			return nil, err
		}
		backend, err := gateway.NewBlocksBackend(local, gateway.WithValueStore(records),
			gateway.WithNameSystem(names), gateway.WithResolver(n.OfflineUnixFSPathResolver))
		if err != nil {
			return nil, err
		}
		handler := gateway.NewHandler(gateway.Config{DeserializedResponses: false, NoDNSLink: true}, backend)
		handler = gateway.NewHeaders(nil).ApplyCors().Wrap(handler)
		mux.Handle("/ipfs/", handler)
		mux.Handle("/ipns/", handler)
		return mux, nil
	}
}
