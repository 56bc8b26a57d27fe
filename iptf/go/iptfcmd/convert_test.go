package iptfcmd

import (
	"testing"

	"iptf.io/node/protocol"
	"iptf.io/node/writeback"
)

// The queue keeps tree paths; the protocol gives every path as an iptf:// URI.
func TestFailedWritesNameTreePathsByURI(t *testing.T) {
	got := failedWrites([]writeback.Failure{
		{Op: writeback.Op{Kind: writeback.Write, Path: "/ckpt/a", Staged: "/r/staging/w-1"}, Why: "disk full"},
		{Op: writeback.Op{Kind: writeback.Move, Path: "/a.tmp", Dst: "/a"}, Why: "gone"},
		{Op: writeback.Op{Kind: writeback.Damaged, Staged: "/r/staging/writeback.damaged.jsonl"}, Why: "torn line"},
	})
	want := []protocol.FailedWrite{
		{Kind: protocol.KindWrite, Uri: "iptf://repo/root/ckpt/a", Staged: "/r/staging/w-1", Why: "disk full"},
		{Kind: protocol.KindMove, Uri: "iptf://repo/root/a.tmp", Destination: "iptf://repo/root/a", Why: "gone"},
		{Kind: protocol.KindDamaged, Staged: "/r/staging/writeback.damaged.jsonl", Why: "torn line"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d failures, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("failure %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
