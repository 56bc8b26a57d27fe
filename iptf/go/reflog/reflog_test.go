package reflog

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRecordListGet(t *testing.T) {
	dir := t.TempDir()
	l := Open(dir)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.Record(Entry{Op: Read, Path: "iptf://ipfs/Qa/train", Cid: "Qa", Pid: 1, Program: "train.py"}))
	must(l.Record(Entry{Op: Read, Path: "iptf://ipfs/Qa/train", Cid: "Qa", Pid: 1, Program: "train.py"})) // repeat: skipped
	must(l.Record(Entry{Op: Write, Path: "iptf://repo/root/ckpt", Cid: "Qb", Pid: 1, Program: "train.py"}))
	must(l.Record(Entry{Op: Read, Path: "iptf://repo/root/ckpt", Cid: "Qb", Pid: 2, Program: "eval.py"}))

	// A new Log over the same file continues the numbering.
	l2 := Open(dir)
	must(l2.Record(Entry{Op: Read, Path: "iptf://ipfs/Qa/train", Cid: "Qa", Pid: 3, Program: "train.py"}))
	all, err := l2.List(Filter{})
	must(err)
	if len(all) != 4 || all[3].N != 4 {
		t.Fatalf("got %d entries, last N=%d", len(all), all[len(all)-1].N)
	}
	reads, _ := l2.List(Filter{Op: Read, Program: "train"})
	if len(reads) != 2 {
		t.Fatalf("train.py reads: %d", len(reads))
	}
	future, _ := l2.List(Filter{Since: time.Now().Add(time.Hour)})
	if len(future) != 0 {
		t.Fatalf("since filter let through %d", len(future))
	}
	e, err := l2.Get(2)
	must(err)
	if e.Cid != "Qb" || e.Op != Write {
		t.Fatalf("entry 2: %+v", e)
	}
	if _, err := l2.Get(99); err == nil {
		t.Fatal("expected ErrNoEntry")
	}
	// A torn last line (crash mid-write) is skipped, not fatal.
	f, _ := os.OpenFile(filepath.Join(dir, FileName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"N":5,"Ti`)
	f.Close()
	l3 := Open(dir)
	if all, err := l3.List(Filter{}); err != nil || len(all) != 4 {
		t.Fatalf("after torn line: %d entries, %v", len(all), err)
	}
	must(l3.Record(Entry{Op: Write, Path: "iptf://repo/root/x", Cid: "Qc", Pid: 4}))
	if e, err := l3.Get(5); err != nil || e.Cid != "Qc" {
		t.Fatalf("entry after a torn line: %+v %v", e, err)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-11-20T10:00:00Z": time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		"36h":                  now.Add(-36 * time.Hour),
		"7d":                   now.Add(-7 * 24 * time.Hour),
	} {
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: got %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := ParseTime("last tuesday", now); err == nil {
		t.Error("expected an error")
	}
}

func TestExpireNamedAndAges(t *testing.T) {
	dir := t.TempDir()
	l := Open(dir)
	old := time.Now().Add(-48 * time.Hour).UTC()
	for _, e := range []Entry{
		{Time: old, Op: Write, Path: "iptf://repo/root/a", Cid: "Qa", Size: 3, Pid: 1},
		{Op: Read, Path: "iptf://repo/root/a", Cid: "Qa", Size: 3, Pid: 2},
		{Op: Write, Path: "iptf://repo/root/a", Cid: "Qb", Size: 5, Pid: 1},
	} {
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	named, err := l.Named(time.Now().Add(-time.Hour))
	if err != nil || len(named) != 2 || named[0].Cid != "Qa" || named[1].Size != 5 {
		t.Fatalf("named since an hour ago: %+v, %v", named, err)
	}
	if all, _ := l.Named(time.Time{}); len(all) != 2 || !all[0].Newest.After(old) {
		t.Fatalf("a CID's newest entry decides: %+v", all)
	}
	removed, err := l.Expire(time.Now().Add(-24 * time.Hour))
	if err != nil || removed != 1 {
		t.Fatalf("expire: removed %d, %v", removed, err)
	}
	if err := l.Record(Entry{Op: Read, Path: "iptf://repo/root/a", Cid: "Qb", Pid: 1}); err != nil {
		t.Fatal(err)
	}
	// Numbers stay; a new Log continues after the highest.
	if err := Open(dir).Record(Entry{Op: Read, Path: "x", Cid: "Qc", Pid: 9}); err != nil {
		t.Fatal(err)
	}
	all, _ := l.List(Filter{})
	var ns []int
	for _, e := range all {
		ns = append(ns, e.N)
	}
	if len(ns) != 4 || ns[0] != 2 || ns[3] != 5 {
		t.Fatalf("entry numbers after expiry: %v", ns)
	}
	for s, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "36h": 36 * time.Hour, "now": 0, "0": 0} {
		if got, err := ParseAge(s); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"soon", "-1h", "d"} {
		if _, err := ParseAge(s); err == nil {
			t.Errorf("ParseAge(%q): expected an error", s)
		}
	}
}
