package iptfcmd

import (
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	cmds "github.com/ipfs/go-ipfs-cmds"

	"iptf.io/node/fsapi"
	"iptf.io/node/reflog"
)

// run builds a command group whose one command fails with err, wraps it with wrap and runs it.
func run(wrap func(*cmds.Command), err error) error {
	leaf := &cmds.Command{Run: func(*cmds.Request, cmds.ResponseEmitter, cmds.Environment) error { return err }}
	group := &cmds.Command{Subcommands: map[string]*cmds.Command{"leaf": leaf}}
	wrap(group)
	return leaf.Run(nil, nil, nil)
}

func TestClassifyPrefixesEveryError(t *testing.T) {
	_, badCid := cid.Decode("not-a-cid")
	cases := []struct {
		err    error
		prefix string
	}{
		{&fsapi.Error{Code: fsapi.NotFound, URI: "iptf://repo/root/x", Why: "no such file or directory"}, "NotFound: iptf://repo/root/x:"},
		{cmds.Errorf(cmds.ErrClient, "offset and length cannot be negative"), "InvalidArgument: offset and length"},
		{badCid, "InvalidArgument: invalid cid"},
		{reflog.ErrNoEntry, "NotFound: "},
		{ErrNoNode, "Unavailable: no IPTF node"},
		{errors.New("something no library names"), "Internal: something"},
	}
	for _, c := range cases {
		got := run(Classify, c.err)
		if got == nil || !strings.HasPrefix(got.Error(), c.prefix) {
			t.Errorf("%v: got %v, want the prefix %q", c.err, got, c.prefix)
		}
	}
	var ce cmds.Error
	if err := run(Classify, cmds.Errorf(cmds.ErrClient, "bad")); !errors.As(err, &ce) || ce.Code != cmds.ErrClient {
		t.Errorf("a usage error must stay one (HTTP 400): %#v", err)
	}
	if err := run(Classify, nil); err != nil {
		t.Errorf("success became %v", err)
	}
}

func TestClassifyKnownLeavesUnknownTextAlone(t *testing.T) {
	_, badCid := cid.Decode("not-a-cid")
	if got := run(ClassifyKnown, badCid); got == nil || !strings.HasPrefix(got.Error(), "InvalidArgument: ") {
		t.Errorf("known class: %v", got)
	}
	plain := errors.New("chunker: unrecognized option")
	if got := run(ClassifyKnown, plain); got != plain {
		t.Errorf("unknown class: got %v, want kubo's own error", got)
	}
}
