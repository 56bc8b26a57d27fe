package service

import (
	"context"
	"sync"

	"github.com/ipfs/boxo/bitswap"
	cmds "github.com/ipfs/go-ipfs-cmds"
	"github.com/ipfs/kubo/core"
	"github.com/ipfs/kubo/core/commands/cmdenv"
	"github.com/ipfs/kubo/repo"

	"iptf.io/node/peerguard"
)

// registry links nodes to their services. A command gets only its environment, from which
// kubo gives it the *core.IpfsNode; neither the node (a struct kubo fills from its fx graph)
// nor the environment (kubo's commands.Context, copied for each API handler) can carry
// anything of ours. So a node's service is found by the node: entered when the node starts
// (or a command first needs it) and removed when the node stops.
//
// guards is the one construction-time hand-off: kubo builds bitswap, with its tracers, before
// the node exists, so the guard installed in a bitswap waits here, under that bitswap, for
// its node's service.
var registry = struct {
	sync.Mutex
	byNode map[*core.IpfsNode]*Service
	guards map[*bitswap.Bitswap]*peerguard.Guard
}{byNode: map[*core.IpfsNode]*Service{}, guards: map[*bitswap.Bitswap]*peerguard.Guard{}}

// For returns node's service, making it on first use.
func For(node *core.IpfsNode) (*Service, error) {
	registry.Lock()
	defer registry.Unlock()
	if s := registry.byNode[node]; s != nil {
		return s, nil
	}
	guard := registry.guards[node.Bitswap]
	if guard == nil { // the node has no bitswap, or was not built with Plugin
		guard = peerguard.New()
	}
	s, err := newService(node, guard)
	if err != nil {
		return nil, err
	}
	delete(registry.guards, node.Bitswap)
	registry.byNode[node] = s
	context.AfterFunc(node.Context(), func() {
		registry.Lock()
		defer registry.Unlock()
		delete(registry.byNode, node)
	})
	return s, nil
}

// Of returns the service of the node a command runs on, building that node if the command
// runs without a daemon.
func Of(env cmds.Environment) (*Service, error) {
	node, err := cmdenv.GetNode(env)
	if err != nil {
		return nil, err
	}
	return For(node)
}

// Running returns the service of the node a command runs on when that node is a daemon's,
// and nil otherwise; unlike Of, it never builds a node (a command that runs without a daemon
// would build one only to look).
func Running(env cmds.Environment) *Service {
	if !daemonStarted() {
		return nil
	}
	node, err := cmdenv.GetNode(env) // the daemon's node: built already
	if err != nil {
		return nil
	}
	registry.Lock()
	defer registry.Unlock()
	return registry.byNode[node]
}

// stopServicesOf stops the service of each node on r (see Service.stop) and waits, at most
// until ctx ends, for their background work to end.
func stopServicesOf(ctx context.Context, r repo.Repo) {
	registry.Lock()
	var stopping []*Service
	for node, s := range registry.byNode {
		if node.Repo == r {
			stopping = append(stopping, s)
		}
	}
	registry.Unlock()
	for _, s := range stopping {
		s.stop(ctx)
	}
}

func daemonStarted() bool {
	registry.Lock()
	defer registry.Unlock()
	for node := range registry.byNode {
		if node.IsDaemon {
			return true
		}
	}
	return false
}

// handOffGuard keeps the guard installed in bs until its node's service takes it (For), or
// until the node stops without one.
func handOffGuard(bs *bitswap.Bitswap, guard *peerguard.Guard) (forget func()) {
	registry.Lock()
	defer registry.Unlock()
	registry.guards[bs] = guard
	return func() {
		registry.Lock()
		defer registry.Unlock()
		delete(registry.guards, bs)
	}
}
