package discovery

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ipfs/kubo/core/node/helpers"
	"github.com/ipfs/kubo/core/node/libp2p"
	golibp2p "github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/fx"
)

func newHost(t *testing.T, key crypto.PrivKey, listen ...string) host.Host {
	t.Helper()
	h, err := golibp2p.New(golibp2p.Identity(key), golibp2p.ListenAddrStrings(listen...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// handlerOf returns a pointer fx can fill with kubo's discovery handler (its type unexported).
func handlerOf[T any](func(helpers.MetricsCtx, fx.Lifecycle, host.Host) T) *T { return new(T) }

// A peer reported by discovery before it can be reached (its first dial fails, as a
// simultaneous open does) is connected once it can: kubo's own handler, rebuilt by the plugin's
// decorator in a real fx graph, keeps trying within its 30 s.
func TestDiscoveredPeerIsRetriedUntilItConnects(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := ma.StringCast(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))
	a := newHost(t, mustKey(t), "/ip4/127.0.0.1/tcp/0")

	handler := handlerOf(libp2p.DiscoveryHandler)
	app := fx.New(
		fx.NopLogger,
		fx.Provide(func() helpers.MetricsCtx { return helpers.MetricsCtx(context.Background()) }),
		fx.Provide(func() host.Host { return a }),
		fx.Provide(libp2p.DiscoveryHandler),
		fx.Decorate(rebuild(libp2p.DiscoveryHandler)),
		fx.Populate(handler),
	)
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Stop(context.Background())

	found := make(chan struct{})
	go func() {
		defer close(found)
		(*handler).HandlePeerFound(peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}})
	}()
	time.Sleep(time.Second) // the first dials fail: nothing listens there yet
	if a.Network().Connectedness(id) == network.Connected {
		t.Fatal("connected to a peer that was not listening")
	}
	newHost(t, key, addr.String())
	select {
	case <-found:
	case <-time.After(20 * time.Second):
		t.Fatal("the discovery handler gave up on a peer that became reachable")
	}
	if a.Network().Connectedness(id) != network.Connected {
		t.Fatal("the discovery handler returned without connecting")
	}
}

func mustKey(t *testing.T) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Without the plugin, kubo's handler tries once: the same sequence leaves the peers apart.
func TestKuboHandlerAloneTriesOnce(t *testing.T) {
	key := mustKey(t)
	id, _ := peer.IDFromPrivateKey(key)
	addr := ma.StringCast(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)))
	a := newHost(t, mustKey(t), "/ip4/127.0.0.1/tcp/0")
	h := libp2p.DiscoveryHandler(helpers.MetricsCtx(context.Background()), fxLifecycle{}, a)
	h.HandlePeerFound(peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}})
	newHost(t, key, addr.String())
	time.Sleep(time.Second)
	if a.Network().Connectedness(id) == network.Connected {
		t.Fatal("kubo's handler retried on its own: the plugin may no longer be needed")
	}
}

// fxLifecycle is a lifecycle that runs no hooks.
type fxLifecycle struct{}

func (fxLifecycle) Append(fx.Hook) {}
