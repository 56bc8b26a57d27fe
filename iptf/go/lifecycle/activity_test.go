package lifecycle

import (
	"testing"

	cmds "github.com/ipfs/go-ipfs-cmds"
)

// TestTrackCountsOnTheCommandsNode: a tracked command is activity of the Activity its
// environment names, while it runs; a quiet command is not; without one, it just runs.
func TestTrackCountsOnTheCommandsNode(t *testing.T) {
	mine, other := NewActivity(), NewActivity()
	var busyWhileRunning bool
	run := &cmds.Command{Run: func(*cmds.Request, cmds.ResponseEmitter, cmds.Environment) error {
		busyWhileRunning = mine.IdleFor() == 0
		return nil
	}}
	status := &cmds.Command{Run: func(*cmds.Request, cmds.ResponseEmitter, cmds.Environment) error {
		if mine.IdleFor() == 0 {
			t.Error("a quiet command counted as activity")
		}
		return nil
	}}
	root := &cmds.Command{Subcommands: map[string]*cmds.Command{"run": run, "status": status}}
	byEnv := map[string]*Activity{"mine": mine, "other": other}
	Track(root, func(env cmds.Environment) *Activity { return byEnv[env.(string)] }, status)

	otherLast := other.last
	if err := run.Run(nil, nil, "mine"); err != nil {
		t.Fatal(err)
	}
	if !busyWhileRunning {
		t.Error("a running command was not activity of its node")
	}
	if other.last != otherLast || mine.inFlight != 0 {
		t.Error("activity left in flight, or counted on another node")
	}
	if err := status.Run(nil, nil, "mine"); err != nil {
		t.Fatal(err)
	}
	if err := run.Run(nil, nil, "none"); err != nil {
		t.Fatal(err)
	}
}
