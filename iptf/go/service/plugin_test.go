package service

import (
	"context"
	"testing"

	"github.com/ipfs/boxo/bitswap"
	"github.com/ipfs/kubo/core"
	"go.uber.org/fx"
)

type bitswapOptions struct {
	fx.In
	Opts []bitswap.Option `group:"bitswap-options"`
}

// build runs the plugin's options in an fx graph holding bs as the node's bitswap, and
// returns the bitswap options it contributed and the graph (started).
func build(t *testing.T, bs *bitswap.Bitswap) ([]bitswap.Option, *fx.App) {
	t.Helper()
	opts, err := (&Plugin{}).Options(core.FXNodeInfo{})
	if err != nil {
		t.Fatal(err)
	}
	var got []bitswap.Option
	app := fx.New(append(opts, fx.NopLogger, fx.Supply(bs),
		fx.Invoke(func(in bitswapOptions) { got = in.Opts }))...)
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return got, app
}

// TestGuardHandOff: the guard installed in a node's bitswap as the node is built is the one
// its service gets; a node stopped before it has a service leaves nothing behind.
func TestGuardHandOff(t *testing.T) {
	bs := &bitswap.Bitswap{} // only its address is used: it names the node's bitswap
	opts, app := build(t, bs)
	defer app.Stop(context.Background())
	if len(opts) != 1 {
		t.Fatalf("the plugin gave bitswap %d options, want its tracer", len(opts))
	}
	registry.Lock()
	installed := registry.guards[bs]
	registry.Unlock()
	if installed == nil {
		t.Fatal("no guard waits for the node's service")
	}
	n := testNode(t, false)
	n.Bitswap = bs
	s, err := For(n)
	if err != nil {
		t.Fatal(err)
	}
	if s.Guard != installed {
		t.Fatal("the service has a guard other than the one installed in its bitswap")
	}
	registry.Lock()
	_, waiting := registry.guards[bs]
	registry.Unlock()
	if waiting {
		t.Fatal("the guard still waits after its service took it")
	}

	unused := &bitswap.Bitswap{}
	_, other := build(t, unused)
	if err := other.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	registry.Lock()
	_, waiting = registry.guards[unused]
	registry.Unlock()
	if waiting {
		t.Fatal("a stopped node's guard still waits for a service")
	}
}
