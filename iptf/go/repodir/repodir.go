// Package repodir locates an IPTF repository and the files IPTF keeps inside it.
package repodir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvPath names the environment variable that overrides the repository location.
const EnvPath = "IPTF_PATH"

// DefaultDirName is the repository folder under the user's home directory.
const DefaultDirName = ".iptf"

// maxSocketPath is the longest Unix socket path the kernel accepts (sun_path less its NUL).
const maxSocketPath = 107

// Resolve returns the absolute repository path: $IPTF_PATH when set, else ~/.iptf.
func Resolve() (string, error) {
	if p := os.Getenv(EnvPath); p != "" {
		return filepath.Abs(expandHome(p))
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home directory for the IPTF repo (set %s): %w", EnvPath, err)
	}
	return filepath.Join(home, DefaultDirName), nil
}

func expandHome(p string) string {
	if p == "~" || len(p) > 1 && p[:2] == "~/" {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// APISocket is the Unix socket the node's RPC API listens on.
func APISocket(repo string) string { return filepath.Join(repo, "api.sock") }

// Staging is the folder where writers fill files that the node imports into the writable tree.
func Staging(repo string) string { return filepath.Join(repo, "staging") }

// NodeLog is where a node started in the background writes its output.
func NodeLog(repo string) string { return filepath.Join(repo, "node.log") }

// Fetched lists the blocks the node fetched from peers (the cache evicts only those).
func Fetched(repo string) string { return filepath.Join(repo, "fetched.mh") }

// StartLock is the file whose lock serialises starting a node for the repo.
func StartLock(repo string) string { return filepath.Join(repo, "start.lock") }

// Initialized reports whether the repository has a configuration file.
func Initialized(repo string) bool {
	_, err := os.Stat(filepath.Join(repo, "config"))
	return err == nil
}

// ErrSocketPathTooLong is returned when the repo path leaves no room for the API socket.
var ErrSocketPathTooLong = errors.New("repo path too long for its API socket")

// CheckSocketPath verifies that the repo's API socket path fits the kernel's limit.
func CheckSocketPath(repo string) error {
	if p := APISocket(repo); len(p) > maxSocketPath {
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d; choose a shorter %s", ErrSocketPathTooLong, p, len(p), maxSocketPath, EnvPath)
	}
	return nil
}
