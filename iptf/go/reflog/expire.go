package reflog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Named is a CID the reflog names, with what its entries say of it.
type Named struct {
	Cid    string
	Size   uint64    // bytes, as recorded
	Newest time.Time // the time of its newest entry
}

// Named returns the distinct CIDs of the entries kept selects, in the order first seen.
func (l *Log) Named(kept func(Entry) bool) ([]Named, error) {
	var out []Named
	at := map[string]int{}
	err := l.each(func(e Entry) bool {
		if e.Cid == "" || !kept(e) {
			return true
		}
		if i, ok := at[e.Cid]; ok {
			if e.Time.After(out[i].Newest) {
				out[i].Newest = e.Time
			}
			return true
		}
		at[e.Cid] = len(out)
		out = append(out, Named{Cid: e.Cid, Size: e.Size, Newest: e.Time})
		return true
	})
	return out, err
}

// Expire removes the entries older than before and returns how many it removed. The others
// keep their numbers. The file is replaced whole (written beside it, then renamed).
func (l *Log) Expire(before time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := os.Stat(l.path); os.IsNotExist(err) {
		return 0, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(l.path), FileName+".expire-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	removed := 0
	var werr error
	err = l.eachLine(func(e Entry, line []byte) bool {
		if e.Time.Before(before) {
			removed++
			return true
		}
		_, werr = tmp.Write(append(line, '\n'))
		return werr == nil
	})
	if err == nil {
		err = werr
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if removed == 0 {
		return 0, nil
	}
	if err := os.Rename(tmp.Name(), l.path); err != nil {
		return 0, err
	}
	l.last = map[string]string{} // a read seen again must be recorded again
	return removed, nil
}

// ParseAge reads an age: "90d", a Go duration ("36h", "30m"), or "0"/"now" (no age).
func ParseAge(s string) (time.Duration, error) {
	switch s = strings.TrimSpace(s); s {
	case "0", "now":
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n float64
		if _, err := fmt.Sscanf(days, "%g", &n); err == nil && n >= 0 {
			return time.Duration(n * 24 * float64(time.Hour)), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("cannot read age %q: use 90d, 36h, 30m or now", s)
}
