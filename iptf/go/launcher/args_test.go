package launcher

import (
	"slices"
	"testing"

	"github.com/ipfs/kubo/cmd/ipfs/kubo"
)

func TestParseInvocation(t *testing.T) {
	cases := []struct {
		args []string
		path []string
		opts map[string]string
	}{
		{[]string{"add", "-Q", "--chunker", "size-1000", "file"}, []string{"add"}, map[string]string{"chunker": "size-1000", "Q": "true"}},
		{[]string{"--repo-dir", "/r", "files", "write", "/a"}, []string{"files", "write"}, map[string]string{"repo-dir": "/r"}},
		{[]string{"--api=/unix/x", "cat", "Qm"}, []string{"cat"}, map[string]string{"api": "/unix/x"}},
		{[]string{"--offline", "pin", "ls"}, []string{"pin", "ls"}, map[string]string{"offline": "true"}},
		{[]string{"iptf", "mkdir", "--parents", "iptf://repo/root/x"}, []string{"iptf", "mkdir"}, map[string]string{"parents": "true"}},
		{[]string{"cat", "add"}, []string{"cat"}, map[string]string{}},
	}
	for _, c := range cases {
		inv := parseInvocation(kubo.Root, c.args)
		if !slices.Equal(inv.path, c.path) {
			t.Errorf("%v: path %v, want %v", c.args, inv.path, c.path)
		}
		for k, v := range c.opts {
			if inv.options[k] != v {
				t.Errorf("%v: option %s=%q, want %q", c.args, k, inv.options[k], v)
			}
		}
		if inv.command == nil {
			t.Errorf("%v: no command found", c.args)
		}
	}
	if inv := parseInvocation(kubo.Root, []string{"frobnicate"}); inv.command != nil {
		t.Errorf("unknown command resolved to %v", inv.path)
	}
}

func TestNeedsNode(t *testing.T) {
	for args, want := range map[string]bool{
		"add":       true,
		"iptf":      true,
		"init":      false,
		"daemon":    false,
		"config":    false,
		"shutdown":  false,
		"version":   false,
		"commands":  false,
		"cid":       false,
		"repo":      true,
		"--offline": false,
	} {
		argv := []string{args}
		if args == "--offline" {
			argv = []string{"--offline", "cat", "Qm"}
		}
		inv := parseInvocation(kubo.Root, argv)
		if inv.command == nil {
			t.Fatalf("%s: unknown", args)
		}
		if got := needsNode(inv); got != want {
			t.Errorf("needsNode(%s) = %v, want %v", args, got, want)
		}
	}
}
