package uri

import "testing"

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
	for _, raw := range []string{"ipfs://x", "iptf://", "iptf://ipfs", "iptf://ipfs/", "iptf://repo/x", "iptf://repo", "iptf://nope/a", "iptf://meta/x"} {
		if _, err := Parse(raw); err == nil {
			t.Errorf("%s: expected an error", raw)
		}
	}
}
