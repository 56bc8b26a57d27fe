package iptfcmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	cmds "github.com/ipfs/go-ipfs-cmds"
	pincmd "github.com/ipfs/kubo/core/commands/pin"
)

func TestPinProgressShowsTheRateAndThePeers(t *testing.T) {
	var shown bytes.Buffer
	progressOut = &shown
	defer func() { progressOut = nil }()
	req := &cmds.Request{Context: context.Background()}
	serverSide, res := cmds.NewChanResponsePair(req)
	cliSide, printed := cmds.NewChanResponsePair(req)
	go func() {
		_ = serverSide.Emit(&pinProgress{AddPinOutput: pincmd.AddPinOutput{Progress: 4, Bytes: 1 << 20}, Peers: 3})
		time.Sleep(50 * time.Millisecond)
		_ = serverSide.Emit(&pinProgress{AddPinOutput: pincmd.AddPinOutput{Progress: 40, Bytes: 11 << 20}, Peers: 1})
		_ = serverSide.Emit(&pincmd.AddPinOutput{Progress: 41, Bytes: 11 << 20}) // kubo's walk
		_ = serverSide.Emit(&pincmd.AddPinOutput{Pins: []string{"bafyroot"}})
		_ = serverSide.Close()
	}()
	done := make(chan error, 1)
	go func() {
		done <- pinPostRun(res, cliSide)
		_ = cliSide.Close()
	}()
	v, err := printed.Next()
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := v.(*pincmd.AddPinOutput); !ok || len(out.Pins) != 1 || out.Pins[0] != "bafyroot" {
		t.Fatalf("printed %#v, want kubo's output with the pin", v)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(shown.String(), "\r"), "\r")
	want := []string{"Fetched/Processed 4 nodes (1.0 MB) from 3 peers", "Fetched/Processed 40 nodes (12 MB), ", "Fetched/Processed 41 nodes (12 MB), "}
	if len(lines) != len(want) {
		t.Fatalf("progress lines %q, want %d", lines, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(strings.TrimPrefix(lines[i], "\033[2K"), w) {
			t.Errorf("line %d: %q, want it to start with %q", i, lines[i], w)
		}
	}
	if !strings.HasSuffix(lines[1], "MB/s from 1 peer") || strings.Contains(lines[2], "peer") {
		t.Errorf("rate and peers: %q, %q", lines[1], lines[2])
	}
}
