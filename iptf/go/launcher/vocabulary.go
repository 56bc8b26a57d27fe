package launcher

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	cmds "github.com/ipfs/go-ipfs-cmds"
	kuboversion "github.com/ipfs/kubo"
	"github.com/ipfs/kubo/cmd/ipfs/kubo"
	corecmds "github.com/ipfs/kubo/core/commands"

	"iptf.io/node/repodir"
)

// Version is IPTF's version, set at build time (-ldflags "-X iptf.io/node/launcher.Version=…")
// from the Python package's version, so that both report the same one.
var Version = "dev"

// ProgramName is what usage lines and hints call the command.
const ProgramName = "iptf"

// refused lists kubo commands that make no sense under IPTF, with the reason given instead.
var refused = map[string]string{
	"update": "IPTF's node is part of the iptf-tensorflow package: upgrade it with `pip install -U iptf-tensorflow`",
}

// repoWords names IPTF's repo, variables and API where kubo's texts name its own.
var repoWords = strings.NewReplacer(
	"$IPFS_PATH", "$"+repodir.EnvPath,
	"IPFS_PATH", repodir.EnvPath,
	"~/.ipfs", "~/.iptf",
	"/ip4/127.0.0.1/tcp/5001", "the repo's Unix socket (<repo>/api.sock)",
	"127.0.0.1:5001", "the repo's Unix socket",
	"ipfs: Reading from", "iptf: Reading from",
)

// speakIPTF rewrites a text of kubo's so that it names IPTF's command, repo, variables and API.
// It runs on every help text of kubo's command tree each time the program starts, so it scans
// by hand rather than with a regular expression (which took most of a command's start-up).
func speakIPTF(text string) string {
	if !strings.Contains(text, "ipfs") && !strings.Contains(text, "IPFS") && !strings.Contains(text, "5001") {
		return text
	}
	return repoWords.Replace(renameCommand(text))
}

// renameCommand replaces kubo's name for its command ("ipfs add", 'ipfs daemon', a text that
// ends in "ipfs") with IPTF's, but not /ipfs/ paths or the network's name: an "ipfs" that starts
// the text or follows a space, a quote, a backquote or an opening bracket, and ends the text or
// is followed by spaces and a lower-case letter, '<', '[' or '-'.
func renameCommand(text string) string {
	var out []byte // a copy, made at the first rename
	for i := 0; ; {
		at := strings.Index(text[i:], "ipfs")
		if at < 0 {
			break
		}
		at += i
		i = at + len("ipfs")
		if at > 0 && !strings.ContainsRune(" \t\n\f\r'\"`([", rune(text[at-1])) {
			continue
		}
		if i < len(text) && !startsWithArguments(text[i:]) {
			continue
		}
		if out == nil {
			out = []byte(text)
		}
		copy(out[at:], "iptf")
	}
	if out == nil {
		return text
	}
	return string(out)
}

// startsWithArguments reports whether s is spaces and then what starts a subcommand or an
// argument in a usage line: a lower-case letter, '<', '[' or '-'.
func startsWithArguments(s string) bool {
	rest := strings.TrimLeft(s, " ")
	if len(rest) == len(s) || rest == "" {
		return false
	}
	c := rest[0]
	return 'a' <= c && c <= 'z' || strings.IndexByte("<[-", c) >= 0
}

const rootSubcommands = `
BASIC COMMANDS
  init          Create an IPTF repo (~/.iptf or $IPTF_PATH; made on first use anyway)
  add <path>    Add a file or directory; prints its CID
  cat <path>    Print a file (iptf://ipfs/…, iptf://ipns/…, iptf://repo/root/…, /ipfs/…, a CID)
  get <path>    Save a file or directory to local disk
  ls <path>     List a directory's links

DATA STRUCTURE COMMANDS
  dag           Interact with IPLD DAG nodes (import, export CARs)
  files         The writable tree (iptf://repo/root/ is / here)
  block         Interact with raw blocks in the blockstore

ADVANCED COMMANDS
  daemon        Run the node in the foreground (no idle stop)
  shutdown      Stop the repo's node
  resolve       Resolve any content path
  name          Publish and resolve IPNS names
  key           Create and list IPNS name keys
  pin           Keep content in the repo
  repo          Manipulate the repo (gc, verify, stat)
  stats         Operational statistics

NETWORK COMMANDS
  id            Show the node's identity and addresses
  bootstrap     Add or remove bootstrap peers
  swarm         Manage connections to peers
  routing       Issue routing commands
  ping          Measure the latency of a connection
  bitswap       Inspect bitswap state

TOOL COMMANDS
  config        Manage the repo's configuration
  version       Show IPTF's version and the kubo it runs
  commands      List all available commands
  log           Manage and show logs of the running node

Use 'iptf <command> --help' to learn more about each command.

IPTF keeps its repo in ~/.iptf, or where $IPTF_PATH points. A node starts on demand for
the first command that needs one, is shared by every process using the repo, and stops after
10 minutes without a command or a block sent to a peer ($IPTF_IDLE_TIMEOUT). Its RPC API
listens only on the Unix socket <repo>/api.sock. IPTF_OFFLINE=1 keeps nodes from dialling
anything; IPTF_AUTOSTART=0 never starts a node or creates a repo.

EXIT STATUS

  0     Successful execution.
  1     Failed executions.
`

// adoptVocabulary makes kubo's command tree speak of IPTF: its name in usage lines, its repo,
// variables and socket in every help text, its version, and no self-updater.
func adoptVocabulary() {
	for name := range refused {
		delete(corecmds.Root.Subcommands, name)
		delete(kubo.Root.Subcommands, name)
	}
	root := &corecmds.Root.Helptext
	root.Tagline = "TensorFlow's IPFS node: content-addressed datasets, models and logs."
	root.Synopsis = speakIPTF(root.Synopsis)
	root.Subcommands = rootSubcommands
	kubo.Root.Helptext = *root
	for i, opt := range corecmds.Root.Options {
		if opt.Name() == corecmds.ApiOption {
			corecmds.Root.Options[i] = cmds.StringOption(corecmds.ApiOption,
				"Use a specific API instance (defaults to the repo's Unix socket, <repo>/api.sock)")
		}
	}
	seen := map[*cmds.Command]bool{corecmds.Root: true, kubo.Root: true}
	for _, top := range []*cmds.Command{corecmds.Root, kubo.Root} {
		for _, sub := range top.Subcommands {
			rewriteHelp(sub, seen)
		}
	}
	version := versionCmd(corecmds.VersionCmd)
	corecmds.Root.Subcommands["version"] = version
	kubo.Root.Subcommands["version"] = version
}

func rewriteHelp(c *cmds.Command, seen map[*cmds.Command]bool) {
	if seen[c] {
		return
	}
	seen[c] = true
	h := &c.Helptext
	for _, field := range []*string{&h.Tagline, &h.ShortDescription, &h.LongDescription, &h.Usage,
		&h.Synopsis, &h.Subcommands, &h.Options, &h.Arguments} {
		*field = speakIPTF(*field)
	}
	for _, sub := range c.Subcommands {
		rewriteHelp(sub, seen)
	}
}

// VersionInfo is `iptf version`'s answer: kubo's fields (Version is kubo's, which kubo's own
// client compares with the daemon's) and IPTF's version beside them.
type VersionInfo struct {
	kuboversion.VersionInfo
	Iptf string
}

// versionCmd replaces kubo's version command, keeping its subcommands and options.
func versionCmd(kuboCmd *cmds.Command) *cmds.Command {
	c := *kuboCmd
	c.Helptext = cmds.HelpText{
		Tagline:          "Show IPTF's version and the kubo version its node runs.",
		ShortDescription: "Prints IPTF's version and, beside it, kubo's; --number prints IPTF's version alone.",
	}
	c.Run = func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		return cmds.EmitOnce(res, &VersionInfo{VersionInfo: *kuboversion.GetVersionInfo(), Iptf: Version})
	}
	c.Type = VersionInfo{}
	c.Encoders = cmds.EncoderMap{
		cmds.Text: cmds.MakeTypedEncoder(func(req *cmds.Request, w io.Writer, v *VersionInfo) error {
			switch {
			case flag(req, "all"):
				_, err := fmt.Fprintf(w, "IPTF version: %s\nKubo version: %s\nRepo version: %s\nSystem version: %s\nGolang version: %s\n",
					v.Iptf, v.Version, v.Repo, v.System, v.Golang)
				return err
			case flag(req, "repo"):
				_, err := fmt.Fprintln(w, v.Repo)
				return err
			case flag(req, "number"):
				_, err := fmt.Fprintln(w, v.Iptf)
				return err
			}
			_, err := fmt.Fprintf(w, "iptf version %s (kubo %s, %s %s/%s)\n", v.Iptf, v.Version, runtime.Version(),
				runtime.GOOS, runtime.GOARCH)
			return err
		}),
	}
	return &c
}

func flag(req *cmds.Request, name string) bool {
	v, _ := req.Options[name].(bool)
	return v
}

// refusal explains why a kubo command is not offered, or is "" for the others.
func refusal(inv invocation, args []string) string {
	if inv.command != nil || len(args) == 0 {
		return ""
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if why, ok := refused[a]; ok {
			return fmt.Sprintf("`iptf %s` is not available: %s", a, why)
		}
		return ""
	}
	return ""
}

// messageWriter rewrites kubo's messages on their way to the terminal so that they name IPTF
// ("run 'iptf daemon'"). Each write is passed on at once, so progress bars keep moving.
type messageWriter struct{ out io.Writer }

func (m messageWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(m.out, speakIPTF(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// withIPTFMessages runs fn with the process's standard error (and, for help, its standard
// output) passed through speakIPTF: kubo names itself "ipfs" in usage lines and hints.
func withIPTFMessages(help bool, fn func() int) int {
	restoreErr := rewrite(&os.Stderr)
	restoreOut := func() {}
	if help {
		restoreOut = rewrite(&os.Stdout)
	}
	code := fn()
	restoreOut()
	restoreErr()
	return code
}

// rewrite points *stream at a pipe whose contents reach the original through speakIPTF; the
// function it returns restores the stream once everything written has been passed on.
func rewrite(stream **os.File) func() {
	r, w, err := os.Pipe()
	if err != nil {
		return func() {}
	}
	original := *stream
	*stream = w
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(messageWriter{out: original}, r)
	}()
	return func() {
		*stream = original
		_ = w.Close()
		<-done
		_ = r.Close()
	}
}
