package launcher

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"iptf.io/node/protocol"
	"iptf.io/node/uri"
)

// mfsOptions are kubo options whose value is a path in the writable tree (MFS).
var mfsOptions = map[string]bool{"to-files": true}

// ownCommands take iptf:// URIs as they are.
var ownCommands = map[string]bool{"iptf": true, "reflog": true, "writeback": true, "cache": true}

// repoResolver gives the /ipfs/<cid> path of what the writable tree holds at an
// iptf://repo/root/ URI now.
type repoResolver func(raw string) (string, error)

// translateURIs rewrites the iptf:// URIs among a kubo command's arguments into the paths kubo
// takes, meaning what the TensorFlow plugin means by them: iptf://ipfs/… and iptf://ipns/…
// become /ipfs/… and /ipns/…; iptf://repo/root/… is the MFS path for `files` commands (and
// --to-files), and the /ipfs/<cid> the tree holds there for every other command.
func translateURIs(inv invocation, args []string, resolve repoResolver) ([]string, error) {
	if ownCommands[inv.first()] || !anyURI(args) {
		return args, nil
	}
	inFiles := inv.first() == "files"
	out := make([]string, len(args))
	for i, a := range args {
		name, value, isOption := strings.Cut(a, "=")
		if isOption && strings.HasPrefix(name, "-") && strings.HasPrefix(value, uri.Scheme) {
			t, err := translate(value, inFiles || mfsOptions[strings.TrimLeft(name, "-")], resolve)
			if err != nil {
				return nil, err
			}
			out[i] = name + "=" + t
			continue
		}
		if !strings.HasPrefix(a, uri.Scheme) {
			out[i] = a
			continue
		}
		mfs := inFiles || i > 0 && mfsOptions[strings.TrimLeft(args[i-1], "-")]
		t, err := translate(a, mfs, resolve)
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

func anyURI(args []string) bool {
	for _, a := range args {
		if strings.Contains(a, uri.Scheme) {
			return true
		}
	}
	return false
}

func translate(raw string, mfs bool, resolve repoResolver) (string, error) {
	u, err := uri.Parse(raw)
	if err != nil {
		return "", err
	}
	switch {
	case u.Namespace == uri.Meta:
		return "", &uri.Error{Raw: raw, Why: "meta URIs describe a path; read them with TensorFlow or iptf.cat, or name the path itself"}
	case u.Namespace == uri.Repo && mfs:
		return u.Path, nil
	case u.Namespace == uri.Repo:
		return resolve(raw)
	}
	return u.Path, nil
}

// resolveWithNode asks the repo's node (starting one if needed) for the CID at a repo URI.
func resolveWithNode(raw string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(self, "iptf", "stat", "--enc=json", "--", raw)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("%s", strings.TrimPrefix(msg, "Error: "))
	}
	var st protocol.Stat
	if err := json.Unmarshal(out, &st); err != nil {
		return "", err
	}
	if st.Cid == "" {
		return "", &uri.Error{Raw: raw, Why: "has no CID of its own"}
	}
	return "/ipfs/" + st.Cid, nil
}
