// Package lifecycle starts the node on demand, tracks its use and stops it when it has been idle.
package lifecycle

import (
	"sync"
	"time"

	cmds "github.com/ipfs/go-ipfs-cmds"
)

// Activity records when the node last served a command (or a peer, see Touch) and how many
// commands are in flight.
type Activity struct {
	mu       sync.Mutex
	inFlight int
	last     time.Time
}

// NewActivity returns a tracker whose last activity is now.
func NewActivity() *Activity { return &Activity{last: time.Now()} }

// Begin marks the start of a command.
func (a *Activity) Begin() {
	a.mu.Lock()
	a.inFlight++
	a.last = time.Now()
	a.mu.Unlock()
}

// End marks the end of a command.
func (a *Activity) End() {
	a.mu.Lock()
	a.inFlight--
	a.last = time.Now()
	a.mu.Unlock()
}

// Touch marks activity that is not a command: blocks sent to a peer reading from this node,
// which would lose its source if the node stopped under it.
func (a *Activity) Touch() {
	a.mu.Lock()
	a.last = time.Now()
	a.mu.Unlock()
}

// IdleFor is how long no command has been running and nothing touched the clock; zero while
// a command runs.
func (a *Activity) IdleFor() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inFlight > 0 {
		return 0
	}
	return time.Since(a.last)
}

// Track wraps every command under root so that running it counts as activity of the node
// it runs on, except the commands in quiet (status queries, which must not keep an idle node
// alive). of names that node's Activity, or nil where none is kept (a command run without a
// daemon).
func Track(root *cmds.Command, of func(cmds.Environment) *Activity, quiet ...*cmds.Command) {
	seen := map[*cmds.Command]bool{}
	for _, q := range quiet {
		seen[q] = true
	}
	track(root, of, seen)
}

func track(c *cmds.Command, of func(cmds.Environment) *Activity, seen map[*cmds.Command]bool) {
	if c == nil || seen[c] {
		return
	}
	seen[c] = true
	if run := c.Run; run != nil {
		c.Run = func(req *cmds.Request, re cmds.ResponseEmitter, env cmds.Environment) error {
			if a := of(env); a != nil {
				a.Begin()
				defer a.End()
			}
			return run(req, re, env)
		}
	}
	for _, sub := range c.Subcommands {
		track(sub, of, seen)
	}
}
