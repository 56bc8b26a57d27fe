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
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return err
	}
	l.next++
	l.last[key] = e.Cid
	return nil
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
	err := l.each(func(e Entry) bool { n = max(n, e.N); return true })
	return n, err
}

// each calls fn for every entry in order until it returns false.
func (l *Log) each(fn func(Entry) bool) error {
	return l.eachLine(func(e Entry, _ []byte) bool { return fn(e) })
}

// eachLine calls fn for every entry and its line (valid only during the call) until it returns false.
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
