package staging

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Abandoned is a writer's staging file that no process has open and no queued write owns: its
// writer ended (a crash, a kill) before closing it, so its bytes never reached the tree.
type Abandoned struct {
	Path  string
	Size  int64
	Since time.Time // when it was last written
}

// Settle is how long a staging file must have gone unwritten before it counts as abandoned: a
// writer closes its file a moment before handing it to the node.
const Settle = time.Minute

// AbandonedGrace is how long an abandoned file's bytes are kept for its owner to recover them.
const AbandonedGrace = 24 * time.Hour

// ErrNoProcessTable is returned where the open files of processes cannot be listed.
var ErrNoProcessTable = errors.New("the open files of processes cannot be listed here")

// Sweep lists the abandoned writer files in dir and removes those abandoned for longer than
// grace. owned reports the files the node has taken over (queued or failed writes). Spares left
// in dir itself by earlier versions (now in SpareDir) are removed; next files no appender took
// (its process ended first) are spares again.
func Sweep(dir string, owned func(path string) bool, grace time.Duration, now time.Time) ([]Abandoned, error) {
	names, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var candidates, unused []Abandoned
	for _, e := range names {
		if strings.HasPrefix(e.Name(), SparePrefix) && e.Type().IsRegular() {
			// A spare of an earlier version, kept beside the writers' files: only a cache.
			_ = os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		next := strings.HasPrefix(e.Name(), NextPrefix)
		if !next && !strings.HasPrefix(e.Name(), WriterPrefix) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil || owned(path) || now.Sub(info.ModTime()) < Settle {
			continue
		}
		found := Abandoned{Path: path, Size: info.Size(), Since: info.ModTime().UTC()}
		if next {
			unused = append(unused, found)
		} else {
			candidates = append(candidates, found)
		}
	}
	if len(candidates) == 0 && len(unused) == 0 {
		return nil, nil
	}
	open, err := openFiles()
	if err != nil {
		return nil, err
	}
	for _, u := range unused {
		if !open[u.Path] {
			_ = Recycle(u.Path)
		}
	}
	var out []Abandoned
	for _, a := range candidates {
		if open[a.Path] {
			continue
		}
		if now.Sub(a.Since) > grace {
			_ = os.Remove(a.Path)
			continue
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out, nil
}

// openFiles is the set of files some process has open, from /proc/<pid>/fd.
func openFiles() (map[string]bool, error) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, ErrNoProcessTable
	}
	open := map[string]bool{}
	for _, p := range procs {
		if p.Name()[0] < '0' || p.Name()[0] > '9' {
			continue
		}
		fdDir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // gone, or not ours to look at
		}
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil {
				open[target] = true
			}
		}
	}
	return open, nil
}
