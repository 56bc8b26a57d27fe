// Package reflog records which bytes each program read and wrote through IPTF: every entry
// ties a time, a process and an iptf:// path to the CID it resolved to or produced.
package reflog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Op is what happened to the bytes.
type Op string

// The operations recorded.
const (
	Read  Op = "read"
	Write Op = "write"
	// Move is kept in the file, never listed: a rename in the writable tree, applied to the
	// entries before it so that a file written under a temporary name and renamed (as
	// checkpoints and SavedModels are) is listed once, under the name it ends with.
	Move Op = "move"
	// Remove is kept in the file, never listed: a file or tree removed by a process. A file a
	// process wrote and then removed itself (a checkpoint's *_temp shards) was a temporary file:
	// its write is not listed.
	Remove Op = "remove"
)

// Entry is one record. N numbers entries from 1 in the order they were written.
type Entry struct {
	N       int       `json:"N"`
	Time    time.Time `json:"Time"`
	Op      Op        `json:"Op"`
	Path    string    `json:"Path"`
	Cid     string    `json:"Cid"`
	Size    uint64    `json:"Size"`
	Pid     int       `json:"Pid"`
	Program string    `json:"Program"`
	To      string    `json:"To,omitempty"` // a move's destination
}

// Log is a repo's reflog: one JSON entry a line in <repo>/reflog.jsonl.
type Log struct {
	path string
	mu   sync.Mutex
	next int
	last map[string]string // pid+path → last CID recorded, to skip repeats
}

// FileName is the reflog's file inside the repo.
const FileName = "reflog.jsonl"

// Open returns the reflog of the repo.
func Open(repo string) *Log {
	return &Log{path: filepath.Join(repo, FileName), last: map[string]string{}}
}

// Record appends an entry, numbering and timing it. A read of the same CID at the same path
// by the same process as its previous read is not recorded again.
func (l *Log) Record(e Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := fmt.Sprintf("%d\x00%s\x00%s", e.Pid, e.Op, e.Path)
	if e.Op == Read && l.last[key] == e.Cid {
		return nil
	}
	if l.next == 0 {
		if err := l.endLine(); err != nil {
			return err
		}
		n, err := l.lastN()
		if err != nil {
			return err
		}
		l.next = n + 1
	}
	e.N = l.next
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := l.appendLine(line); err != nil {
		return err
	}
	l.next++
	l.last[key] = e.Cid
	return nil
}

// RecordMove notes that the writable tree renamed from (a file or a directory) to to.
func (l *Log) RecordMove(from, to string) error {
	return l.recordChange(Entry{Op: Move, Path: from, To: to})
}

// RecordRemove notes that process pid removed path (a file or a directory) from the tree.
func (l *Log) RecordRemove(path string, pid int) error {
	return l.recordChange(Entry{Op: Remove, Path: path, Pid: pid})
}

func (l *Log) recordChange(e Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.endLine(); err != nil {
		return err
	}
	e.Time = time.Now().UTC()
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return l.appendLine(line)
}

func (l *Log) appendLine(line []byte) error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(line, '\n'))
	return err
}

// endLine terminates a last line that a crash cut short, so the next entry starts cleanly.
func (l *Log) endLine() error {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_APPEND, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		return err
	}
	if last[0] != '\n' {
		_, err = f.Write([]byte{'\n'})
	}
	return err
}

// lastN is the highest entry number so far (entries keep their numbers when older ones expire).
func (l *Log) lastN() (int, error) {
	n := 0
	err := l.scan(func(e Entry) bool {
		if listed(e.Op) {
			n = max(n, e.N)
		}
		return true
	})
	return n, err
}

func listed(op Op) bool { return op != Move && op != Remove }

// under reports whether path is p or inside the directory p, and what follows p.
func under(path, p string) (string, bool) {
	rest, ok := strings.CutPrefix(path, p)
	return rest, ok && (rest == "" || strings.HasPrefix(rest, "/"))
}

// each calls fn for every entry in order, under the path it ended with, until fn returns false.
func (l *Log) each(fn func(Entry) bool) error {
	var entries []Entry
	hidden := map[int]bool{}    // writes of temporary files, and their writer's reads of them
	latest := map[string]int{}  // path → index of its latest write so far
	ownReads := map[int][]int{} // a write's index → its writer's later reads of those bytes there
	err := l.scan(func(e Entry) bool {
		switch e.Op {
		case Move:
			renamed := map[string]int{}
			for p, i := range latest {
				if rest, ok := under(p, e.Path); ok {
					entries[i].Path = e.To + rest
					renamed[entries[i].Path] = i
					delete(latest, p)
				}
			}
			for p, i := range renamed {
				latest[p] = i
			}
		case Remove:
			for p, i := range latest {
				if _, ok := under(p, e.Path); ok {
					if e.Pid != 0 && entries[i].Pid == e.Pid {
						hidden[i] = true
						for _, r := range ownReads[i] {
							hidden[r] = true
						}
					}
					delete(latest, p)
				}
			}
		default:
			if e.Op == Write {
				latest[e.Path] = len(entries)
			} else if w, ok := latest[e.Path]; ok && entries[w].Pid == e.Pid && entries[w].Cid == e.Cid {
				ownReads[w] = append(ownReads[w], len(entries))
			}
			entries = append(entries, e)
		}
		return true
	})
	if err != nil {
		return err
	}
	for i, e := range entries {
		if hidden[i] {
			continue
		}
		if !fn(e) {
			break
		}
	}
	return nil
}

// scan calls fn for every line of the file in order until it returns false.
func (l *Log) scan(fn func(Entry) bool) error {
	return l.eachLine(func(e Entry, _ []byte) bool { return fn(e) })
}

// eachLine calls fn for every line's entry and the line (valid only during the call) until it
// returns false.
func (l *Log) eachLine(fn func(Entry, []byte) bool) error {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // a line cut short by a crash
		}
		if !fn(e, sc.Bytes()) {
			break
		}
	}
	return sc.Err()
}

// Filter selects entries; zero fields match everything.
type Filter struct {
	Path    string // entries whose path contains this
	Program string // entries whose program contains this
	Op      Op
	Since   time.Time
	Until   time.Time
	Pid     int
}

func (f Filter) match(e Entry) bool {
	return (f.Path == "" || strings.Contains(e.Path, f.Path)) &&
		(f.Program == "" || strings.Contains(e.Program, f.Program)) &&
		(f.Op == "" || f.Op == e.Op) &&
		(f.Pid == 0 || f.Pid == e.Pid) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until))
}

// List returns the entries matching f, oldest first.
func (l *Log) List(f Filter) ([]Entry, error) {
	var out []Entry
	err := l.each(func(e Entry) bool {
		if f.match(e) {
			out = append(out, e)
		}
		return true
	})
	return out, err
}

// ErrNoEntry is returned by Get for a number with no entry.
var ErrNoEntry = errors.New("no such reflog entry")

// Get returns entry n.
func (l *Log) Get(n int) (Entry, error) {
	var found *Entry
	err := l.each(func(e Entry) bool {
		if e.N == n {
			found = &e
			return false
		}
		return true
	})
	if err != nil {
		return Entry{}, err
	}
	if found == nil {
		return Entry{}, fmt.Errorf("%w: %d", ErrNoEntry, n)
	}
	return *found, nil
}

// ParseTime reads a time given as RFC 3339, a date (YYYY-MM-DD), or an age ("36h", "7d").
func ParseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n float64
		if _, err := fmt.Sscanf(days, "%g", &n); err == nil {
			return now.Add(-time.Duration(n * 24 * float64(time.Hour))), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("cannot read time %q: use 2026-11-24, 2026-11-24T10:00:00Z, 36h or 7d", s)
}
