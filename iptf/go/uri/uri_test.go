package uri

import (
	"errors"
	gopath "path"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	ok := map[string][2]string{
		"iptf://ipfs/QmX/a/b":         {"ipfs", "/ipfs/QmX/a/b"},
		"iptf://ipfs/QmX/":            {"ipfs", "/ipfs/QmX"},
		"iptf://ipns/k51/x":           {"ipns", "/ipns/k51/x"},
		"iptf://repo/root":            {"repo", "/"},
		"iptf://repo/root/":           {"repo", "/"},
		"iptf://repo/root/logs//a/.":  {"repo", "/logs/a"},
		"iptf://meta/repo/root/m.txt": {"meta", "/m.txt"},
		"iptf://meta/repo/root":       {"meta", "/"},
	}
	for raw, want := range ok {
		u, err := Parse(raw)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if string(u.Namespace) != want[0] || u.Path != want[1] {
			t.Errorf("%s: got (%s, %s), want %v", raw, u.Namespace, u.Path, want)
		}
		if back, err := Parse(u.String()); err != nil || back.Path != u.Path {
			t.Errorf("%s: canonical form %s does not round-trip", raw, u.String())
		}
	}
	for _, raw := range []string{"ipfs://x", "iptf://", "iptf://ipfs", "iptf://ipfs/", "iptf://repo/x", "iptf://repo", "iptf://nope/a", "iptf://meta/x",
		`iptf://ipns/\`, "iptf://ipns/" + strings.Repeat("x", 300)} { // no IPNS or DNS name
		if _, err := Parse(raw); err == nil {
			t.Errorf("%s: expected an error", raw)
		}
	}
}

// FuzzParse: any string either is refused with a *Error or parses to a URI that stays inside
// its namespace (an ipfs/ipns path keeps its root CID or name; a tree path is absolute and
// clean) and whose canonical form parses back to the same namespace and path.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"iptf://ipfs/bafkqaaa", "iptf://ipfs/bafkqaaa/a/../b", "iptf://ipns/k51x/logs/", "iptf://repo/root",
		"iptf://repo/root/a//b/./c", "iptf://meta/repo/root/x", "iptf://repo/rooted", "iptf://ipfs/cid/../..",
		"iptf://ipfs//", "iptf:///repo/root/../..", "iptf://repo/root/../../etc", "/ipfs/bafkqaaa", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := Parse(raw)
		if err != nil {
			var ue *Error
			if !errors.As(err, &ue) {
				t.Fatalf("%q: error of type %T", raw, err)
			}
			return
		}
		if !strings.HasPrefix(u.Path, "/") || gopath.Clean(u.Path) != u.Path {
			t.Fatalf("%q: path %q is not absolute and clean", raw, u.Path)
		}
		if u.Namespace == IPFS || u.Namespace == IPNS {
			segs := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
			if len(segs) < 2 || segs[0] != string(u.Namespace) || segs[1] == "" || segs[1] == ".." {
				t.Fatalf("%q: path %q left its namespace", raw, u.Path)
			}
		}
		back, err := Parse(u.String())
		if err != nil || back.Namespace != u.Namespace || back.Path != u.Path {
			t.Fatalf("%q: canonical form %q parses to %+v, %v", raw, u.String(), back, err)
		}
	})
}
