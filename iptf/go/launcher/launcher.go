// Package launcher is iptf-node's entry point: it gives kubo IPTF's repo location and
// defaults, adds IPTF's commands and plugins, starts a node on demand for commands that need
// one, and hands the command line to kubo.
package launcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	cmds "github.com/ipfs/go-ipfs-cmds"
	"github.com/ipfs/kubo/cmd/ipfs/kubo"
	corecmds "github.com/ipfs/kubo/core/commands"
	"github.com/ipfs/kubo/plugin/loader"

	"iptf.io/node/discovery"
	"iptf.io/node/fetch"
	"iptf.io/node/iptfcmd"
	"iptf.io/node/lifecycle"
	"iptf.io/node/offlinedns"
	"iptf.io/node/protocol"
	"iptf.io/node/repodir"
	"iptf.io/node/serve"
	"iptf.io/node/service"
)

// Environment variables read by the launcher.
const (
	EnvOffline   = "IPTF_OFFLINE"   // "1": nodes started here never dial out
	EnvAutostart = "IPTF_AUTOSTART" // "0": never start a node on demand
)

func init() {
	corecmds.Root.Subcommands["iptf"] = iptfcmd.Root
	kubo.Root.Subcommands["iptf"] = iptfcmd.Root
	corecmds.Root.Subcommands["reflog"] = iptfcmd.Reflog
	kubo.Root.Subcommands["reflog"] = iptfcmd.Reflog
	corecmds.Root.Subcommands["cache"] = iptfcmd.Cache
	kubo.Root.Subcommands["cache"] = iptfcmd.Cache
	corecmds.Root.Subcommands["writeback"] = iptfcmd.Writeback
	kubo.Root.Subcommands["writeback"] = iptfcmd.Writeback
	lifecycle.Track(corecmds.Root, activityOf, iptfcmd.StatusCmd)
	iptfcmd.SettleBefore(corecmds.Root.Subcommands["files"])
	iptfcmd.SettleBefore(iptfcmd.Reflog) // a file closed before `reflog` ran is listed by it
	iptfcmd.ReadThroughFetcher(corecmds.Root.Subcommands["cat"])
	iptfcmd.GetThroughFetcher(corecmds.Root.Subcommands["get"])
	iptfcmd.PinThroughFetcher(corecmds.Root.Subcommands["pin"].Subcommands["add"])
	iptfcmd.Classify(iptfcmd.Root)
	iptfcmd.Classify(iptfcmd.Reflog)
	iptfcmd.ClassifyKnown(corecmds.Root.Subcommands["add"]) // the Python API's add and cid_of
	iptfcmd.AddReadsLocalPaths(corecmds.Root.Subcommands["add"])
	iptfcmd.GuardBlockRemoval(corecmds.Root)
	loader.Preload(lifecycle.Plugins...)
	loader.Preload(serve.Plugins...)
	loader.Preload(service.Plugins...)
	loader.Preload(fetch.Plugins...)
	loader.Preload(discovery.Plugins...)
	loader.Preload(offlinedns.Plugins...)
	adoptVocabulary()
}

// activityOf is the activity clock of the daemon's node a command runs on (nil for a
// command run without a daemon: its node stops with it).
func activityOf(env cmds.Environment) *lifecycle.Activity {
	if s := service.Running(env); s != nil {
		return s.Activity
	}
	return nil
}

// localOnly lists commands that never start a node: they work on the repo's files directly.
var localOnly = map[string]bool{"config": true, "shutdown": true}

// Main runs iptf-node with the given arguments (without the program name) and returns
// the exit code.
func Main(args []string) int {
	if len(args) > 0 && args[0] == "serve" {
		rest, listen, err := serveArgs(args[1:])
		if err != nil {
			return fail(err)
		}
		os.Setenv(serve.EnvAddr, listen)
		args = append([]string{"daemon"}, rest...)
	}
	inv := parseInvocation(kubo.Root, args)
	if why := refusal(inv, args); why != "" {
		return fail(errors.New(why))
	}

	repo, err := repoPath(inv)
	if err != nil {
		return fail(err)
	}
	if err := checkMayCreate(inv, repo); err != nil {
		return fail(err)
	}
	os.Setenv("IPFS_PATH", repo)
	os.Setenv("IPFS_TELEMETRY", "off")
	if offline() || inv.has("offline") {
		offlinedns.Enable() // no DNS either
	}

	switch {
	case inv.has("help") || inv.has("h") || inv.command == nil:
	case inv.first() == "init":
		return initRepo(repo, args)
	case inv.first() == "daemon":
		if err := ensureInitialized(repo); err != nil {
			return fail(err)
		}
		if err := takeOverOnDemandNode(repo); err != nil {
			return fail(err)
		}
		lifecycle.ClearStaleSocket(repo)
		if offline() && !inv.has("offline") {
			args = append(args, "--offline")
		}
	case needsNode(inv):
		if err := ensureInitialized(repo); err != nil {
			return fail(err)
		}
		if err := ensureNode(repo); err != nil {
			return fail(err)
		}
	case usesRepo(inv):
		if err := ensureInitialized(repo); err != nil {
			return fail(err)
		}
	}
	if inv.command != nil && !inv.has("help") && !inv.has("h") {
		if args, err = translateURIs(inv, args, resolveWithNode); err != nil {
			return fail(err)
		}
		args = withProgress(inv, args)
	}
	help := inv.command == nil || inv.has("help") || inv.has("h")
	if inv.first() == "daemon" && !help {
		return runKubo(args) // its output is the node's log, read by whoever started it
	}
	if help {
		return withIPTFMessages(true, func() int { return runKubo(args) })
	}
	return withIPTFMessages(false, func() int { return runKuboUnsynced(args) })
}

// runKuboUnsynced is runKubo with its output, when that is a file, left for the kernel to
// write back (output_linux.go), and a failed copy to it reported.
func runKuboUnsynced(args []string) int {
	finish := unsyncedOutput(&os.Stdout)
	code := runKubo(args)
	if err := finish(code != 0); err != nil {
		return fail(err)
	}
	return code
}

func runKubo(args []string) int {
	os.Args = append([]string{ProgramName}, args...)
	return kubo.Start(kubo.BuildDefaultEnv)
}

// checkMayCreate refuses, when IPTF_AUTOSTART=0, a command that would create a missing repo
// (init and daemon create one because that is what they are asked to do).
func checkMayCreate(inv invocation, repo string) error {
	if os.Getenv(EnvAutostart) != "0" || inv.command == nil || repodir.Initialized(repo) {
		return nil
	}
	if first := inv.first(); first == "init" || first == "daemon" || !usesRepo(inv) || inv.has("help") || inv.has("h") {
		return nil
	}
	return fmt.Errorf("no IPTF repo at %s (%s=0 creates none; `iptf init` makes one)", repo, EnvAutostart)
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "Error: %s\n", err)
	return 1
}

func offline() bool { return os.Getenv(EnvOffline) == "1" }

// repoPath is --repo-dir when given, else IPTF's repo location.
func repoPath(inv invocation) (string, error) {
	if p := inv.options[corecmds.RepoDirOption]; p != "" {
		os.Setenv(repodir.EnvPath, p)
	}
	return repodir.Resolve()
}

// usesRepo reports whether the command reads or writes the repo.
func usesRepo(inv invocation) bool {
	doesNotUseRepo, ok := corecmds.GetDoesNotUseRepo(inv.command.Extra)
	return !(ok && doesNotUseRepo)
}

// needsNode reports whether the command should run on a node, starting one if none runs.
func needsNode(inv invocation) bool {
	switch {
	case !usesRepo(inv), inv.command.NoRemote, localOnly[inv.first()]:
		return false
	case inv.has(corecmds.ApiOption), inv.has("offline"):
		return false
	case os.Getenv(EnvAutostart) == "0":
		return false
	}
	return true
}

// ensureInitialized creates the repo with IPTF's defaults on first use.
func ensureInitialized(repo string) error {
	if repodir.Initialized(repo) {
		return nil
	}
	if err := repodir.CheckSocketPath(repo); err != nil {
		return err
	}
	if err := os.MkdirAll(repo, 0o700); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	unlock, err := lifecycle.LockStart(repo)
	if err != nil {
		return err
	}
	defer unlock()
	if repodir.Initialized(repo) {
		return nil
	}
	cmd := exec.Command(self, "init")
	cmd.Stdout = io.Discard
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initializing the IPTF repo at %s: %s", repo, strings.TrimPrefix(strings.TrimSpace(stderr.String()), "Error: "))
	}
	return nil
}

func ensureNode(repo string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	timeout := 60 * time.Second
	if s := os.Getenv(lifecycle.EnvStartTimeout); s != "" {
		if timeout, err = lifecycle.ParseTimeout(s); err != nil {
			return err
		}
	}
	_, err = lifecycle.EnsureRunning(lifecycle.StartOptions{
		Repo: repo, Executable: self, Offline: offline(), Timeout: timeout,
	})
	return err
}

// serveArgs takes `iptf serve`'s own --listen option out of its arguments; the rest go to
// kubo's daemon.
func serveArgs(args []string) (rest []string, listen string, err error) {
	listen = serve.DefaultAddr
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--listen":
			if i+1 >= len(args) {
				return nil, "", fmt.Errorf("--listen needs an address (host:port or a multiaddr)")
			}
			listen = args[i+1]
			i++
		case strings.HasPrefix(a, "--listen="):
			listen = strings.TrimPrefix(a, "--listen=")
		default:
			rest = append(rest, a)
		}
	}
	if _, err := serve.ParseAddr(listen); err != nil {
		return nil, "", err
	}
	return rest, listen, nil
}

// takeOverOnDemandNode stops a node started on demand so that a foreground daemon can take
// the repo; a foreground daemon already running is an error.
func takeOverOnDemandNode(repo string) error {
	if !lifecycle.Running(repo) {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	status := exec.Command(self, "iptf", "status", "--enc=json")
	status.Env = append(os.Environ(), EnvAutostart+"=0")
	out, err := status.Output()
	if err != nil {
		return fmt.Errorf("a node is already running for %s", repo)
	}
	var st protocol.Status
	if err := json.Unmarshal(out, &st); err != nil {
		return err
	}
	if !st.OnDemand {
		return fmt.Errorf("a node is already running for %s (pid %d); stop it with `iptf shutdown`", repo, st.Pid)
	}
	fmt.Printf("Stopping the node started on demand (pid %d)\n", st.Pid)
	stop := exec.Command(self, "shutdown")
	stop.Env = append(os.Environ(), EnvAutostart+"=0")
	if out, err := stop.CombinedOutput(); err != nil {
		return fmt.Errorf("stopping the on-demand node: %s", strings.TrimSpace(string(out)))
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if syscall.Kill(st.Pid, 0) != nil {
			return nil
		}
	}
	return fmt.Errorf("the on-demand node (pid %d) did not stop", st.Pid)
}
