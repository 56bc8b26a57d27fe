package iptfcmd

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	cmds "github.com/ipfs/go-ipfs-cmds"

	"iptf.io/node/fsapi"
	"iptf.io/node/protocol"
	"iptf.io/node/reflog"
)

// Reflog is the `reflog` command: which exact bytes each program read and wrote.
var Reflog = &cmds.Command{
	Helptext: cmds.HelpText{
		Tagline: "List the reads and writes of iptf:// files, with the CIDs they resolved to or produced.",
		ShortDescription: `
Every iptf:// file TensorFlow opens for reading and every file it writes is recorded with the
time, process, program, path and CID. Filter by path, program, operation or time, then re-read
the exact bytes with iptf://ipfs/<cid>.

  iptf reflog --program train.py --since 2026-11-17 --until 2026-11-18
  iptf reflog show 42
`,
	},
	Options: []cmds.Option{
		cmds.StringOption("path", "Only entries whose path contains this."),
		cmds.StringOption("program", "Only entries whose program contains this."),
		cmds.StringOption("op", "Only reads (read) or writes (write)."),
		cmds.StringOption("since", "Only entries at or after this time (2026-11-24, RFC 3339, or an age: 36h, 7d)."),
		cmds.StringOption("until", "Only entries before this time."),
		cmds.IntOption("pid", "Only entries of this process."),
		cmds.IntOption("last", "Only the last N matching entries."),
	},
	Subcommands: map[string]*cmds.Command{"show": reflogShow},
	Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		log, err := reflogOf(env)
		if err != nil {
			return err
		}
		f := reflog.Filter{}
		f.Path, _ = req.Options["path"].(string)
		f.Program, _ = req.Options["program"].(string)
		f.Pid, _ = req.Options["pid"].(int)
		if op, _ := req.Options["op"].(string); op != "" {
			if op != string(reflog.Read) && op != string(reflog.Write) {
				return cmds.Errorf(cmds.ErrClient, "--op is read or write, not %q", op)
			}
			f.Op = reflog.Op(op)
		}
		if last, ok := req.Options["last"].(int); ok && last < 1 {
			return &fsapi.Error{Code: fsapi.InvalidArgument,
				Why: fmt.Sprintf("--last is how many entries to show (1 or more), not %d", last)}
		}
		now := time.Now()
		for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
			if s, _ := req.Options[name].(string); s != "" {
				t, err := reflog.ParseTime(s, now)
				if err != nil {
					return cmds.Errorf(cmds.ErrClient, "--%s: %s", name, err)
				}
				*dst = t
			}
		}
		entries, err := log.List(f)
		if err != nil {
			return err
		}
		if last, _ := req.Options["last"].(int); last > 0 && len(entries) > last {
			entries = entries[len(entries)-last:]
		}
		out := protocol.ReflogEntries{Entries: make([]protocol.ReflogEntry, 0, len(entries))}
		for _, e := range entries {
			out.Entries = append(out.Entries, reflogEntry(e))
		}
		return cmds.EmitOnce(res, &out)
	},
	Type: protocol.ReflogEntries{},
	Encoders: cmds.EncoderMap{
		cmds.Text: cmds.MakeTypedEncoder(func(req *cmds.Request, w io.Writer, v *protocol.ReflogEntries) error {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "N\tTIME\tOP\tPROGRAM\tPID\tPATH\tCID")
			for _, e := range v.Entries {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.N, e.Time.Local().Format("2006-01-02 15:04:05"),
					e.Op, e.Program, e.Pid, e.Path, e.Cid)
			}
			return tw.Flush()
		}),
	},
}

var reflogShow = &cmds.Command{
	Helptext:  cmds.HelpText{Tagline: "Show one reflog entry, by its number."},
	Arguments: []cmds.Argument{cmds.StringArg("n", true, false, "Entry number (the N column of `reflog`).")},
	Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		log, err := reflogOf(env)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(req.Arguments[0])
		if err != nil || n < 1 {
			return cmds.Errorf(cmds.ErrClient, "entry number must be a positive integer, not %q", req.Arguments[0])
		}
		e, err := log.Get(n)
		if err != nil {
			return err
		}
		out := reflogEntry(e)
		return cmds.EmitOnce(res, &out)
	},
	Type: protocol.ReflogEntry{},
	Encoders: cmds.EncoderMap{
		cmds.Text: cmds.MakeTypedEncoder(func(req *cmds.Request, w io.Writer, e *protocol.ReflogEntry) error {
			_, err := fmt.Fprintf(w, "entry    %d\ntime     %s\nop       %s\npath     %s\ncid      %s\nbytes    %d\nprogram  %s\npid      %d\nre-read  iptf://ipfs/%s\n",
				e.N, e.Time.Local().Format(time.RFC3339), e.Op, e.Path, e.Cid, e.Size, e.Program, e.Pid, e.Cid)
			return err
		}),
	},
}

// reflogEntry is a reflog file's entry as the protocol says it.
func reflogEntry(e reflog.Entry) protocol.ReflogEntry {
	return protocol.ReflogEntry{N: e.N, Time: e.Time, Op: string(e.Op), Path: e.Path, Cid: e.Cid, Size: e.Size,
		Pid: e.Pid, Program: e.Program, To: e.To}
}
