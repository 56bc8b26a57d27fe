package launcher

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// mention is the rule renameCommand follows, as a regular expression: applied until nothing
// changes, it renames every "ipfs" that names the command.
var mention = regexp.MustCompile(`(^|[\s'"` + "`" + `(\[])ipfs( +[a-z<\[-]|$)`)

func renamedByExpression(text string) string {
	for {
		next := mention.ReplaceAllString(text, "${1}iptf${2}")
		if next == text {
			return text
		}
		text = next
	}
}

func TestRenameCommandFollowsTheRule(t *testing.T) {
	cases := map[string]string{
		"ipfs add <path>":             "iptf add <path>",
		"  ipfs daemon":               "  iptf daemon",
		"'ipfs cat /ipfs/QmX'":        "'iptf cat /ipfs/QmX'",
		"run ipfs":                    "run iptf",
		"the ipfs network":            "the iptf network", // a lower-case word follows: taken for a command
		"/ipfs/bafy and ipfs/Qm":      "/ipfs/bafy and ipfs/Qm",
		"ipfs ipfs ipfs ipfs -h":      "iptf iptf iptf iptf -h",
		"IPFS_PATH=~/.ipfs ipfs init": "IPFS_PATH=~/.ipfs iptf init",
		"(ipfs [options])":            "(iptf [options])",
		"ipfs   ":                     "ipfs   ",
		"ipfsx add":                   "ipfsx add",
		"Xipfs add":                   "Xipfs add",
	}
	for in, want := range cases {
		if got := renameCommand(in); got != want {
			t.Errorf("renameCommand(%q) = %q, want %q", in, got, want)
		}
		if got := renamedByExpression(in); got != want {
			t.Errorf("the expression gives %q for %q, want %q", got, in, want)
		}
	}
	// Texts made of the pieces that decide a match, against the expression.
	pieces := []string{"ipfs", "ipfs", " ", "  ", "\n", "\t", "'", "\"", "`", "(", "[", "/", "-", "<", "a", "Z", "x", "5", ".", ""}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 50000; n++ {
		var b strings.Builder
		for k := r.IntN(12); k > 0; k-- {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		in := b.String()
		if got, want := renameCommand(in), renamedByExpression(in); got != want {
			t.Fatalf("renameCommand(%q) = %q, the expression gives %q", in, got, want)
		}
	}
}

func TestSpeakIPTFNamesTheRepoAndSocket(t *testing.T) {
	got := speakIPTF("ipfs init writes $IPFS_PATH (~/.ipfs); the API is on /ip4/127.0.0.1/tcp/5001")
	want := "iptf init writes $IPTF_PATH (~/.iptf); the API is on the repo's Unix socket (<repo>/api.sock)"
	if got != want {
		t.Errorf("speakIPTF = %q, want %q", got, want)
	}
}
