package lifecycle

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/ipfs/kubo/repo/fsrepo"
	manet "github.com/multiformats/go-multiaddr/net"

	"iptf.io/node/repodir"
)

// EnvStartTimeout overrides how long a client waits for an on-demand node to come up.
const EnvStartTimeout = "IPTF_START_TIMEOUT"

// ErrStartFailed is returned when a node started on demand did not come up.
var ErrStartFailed = errors.New("could not start the IPTF node")

// Running reports whether a node answers on the repo's API address.
func Running(repo string) bool {
	addr, err := fsrepo.APIAddr(repo)
	if err != nil || addr == nil {
		return false
	}
	d := manet.Dialer{Dialer: net.Dialer{Timeout: time.Second}}
	conn, err := d.Dial(addr)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// ClearStaleSocket removes an API socket left behind by a node that died, so that a new
// node can listen on it. It leaves the socket alone while another process holds the repo.
func ClearStaleSocket(repo string) {
	sock := repodir.APISocket(repo)
	if _, err := os.Lstat(sock); err != nil {
		return
	}
	if locked, err := fsrepo.LockedByOtherProcess(repo); err != nil || locked {
		return
	}
	if conn, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		_ = conn.Close()
		return
	}
	_ = os.Remove(sock)
}

// StartOptions says how to start a node in the background.
type StartOptions struct {
	Repo       string        // repository path
	Executable string        // the iptf-node binary
	Offline    bool          // start with --offline
	Timeout    time.Duration // how long to wait for the API
}

// EnsureRunning starts a node for the repo in the background unless one already answers,
// and waits until its API does. It reports whether it started one.
func EnsureRunning(o StartOptions) (bool, error) {
	if Running(o.Repo) {
		return false, nil
	}
	unlock, err := LockStart(o.Repo)
	if err != nil {
		return false, err
	}
	defer unlock()
	// Another process may have started one while we waited for the lock.
	if Running(o.Repo) {
		return false, nil
	}
	deadline := time.Now().Add(o.Timeout)
	for {
		err := startOnce(o, deadline)
		if err == nil {
			return true, nil
		}
		// A command running directly on the repo holds its lock for a moment; try again.
		if errors.Is(err, errRepoBusy) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			if Running(o.Repo) {
				return false, nil
			}
			continue
		}
		return false, err
	}
}

var errRepoBusy = errors.New("repo locked by another process")

func startOnce(o StartOptions, deadline time.Time) error {
	ClearStaleSocket(o.Repo)
	logPath := repodir.NodeLog(o.Repo)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStartFailed, err)
	}
	defer logFile.Close()

	args := []string{"daemon"}
	if o.Offline {
		args = append(args, "--offline")
	}
	cmd := exec.Command(o.Executable, args...)
	cmd.Env = append(os.Environ(), EnvOnDemand+"=1", repodir.EnvPath+"="+o.Repo)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = o.Repo
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %v", ErrStartFailed, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	for time.Now().Before(deadline) {
		select {
		case <-exited:
			last := lastLine(logPath)
			if strings.Contains(last, "lock") && strings.Contains(last, "already") || strings.Contains(last, "someone else has the lock") {
				return errRepoBusy
			}
			return fmt.Errorf("%w: %s (see %s)", ErrStartFailed, last, logPath)
		case <-time.After(50 * time.Millisecond):
		}
		if Running(o.Repo) {
			return nil
		}
	}
	_ = cmd.Process.Kill()
	return fmt.Errorf("%w: no answer within %s (see %s)", ErrStartFailed, o.Timeout, logPath)
}

// lastLine returns the last non-empty line of a file, for error messages.
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "node exited"
	}
	defer f.Close()
	last := "node exited"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			last = strings.TrimPrefix(s, "Error: ")
		}
	}
	return last
}

// LockStart serialises the processes that set up or start a node for the repo; it returns
// the lock's release.
func LockStart(repo string) (func(), error) { return lockFile(repodir.StartLock(repo)) }

// lockFile takes an exclusive flock on path, creating it, and returns its release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStartFailed, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: locking %s: %v", ErrStartFailed, path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
