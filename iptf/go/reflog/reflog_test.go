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

func TestMovesListWritesUnderTheirFinalNames(t *testing.T) {
	l, must := openForTest(t)
	const root = "iptf://repo/root/run"
	// A checkpoint: a temporary file renamed into place, and a temporary directory whose file
	// is renamed out of it, then a SavedModel's directory renamed as a whole.
	must(l.Record(Entry{Op: Write, Path: root + "/checkpoint.tmp1", Cid: "Qc"}))
	must(l.RecordMove(root+"/checkpoint.tmp1", root+"/checkpoint"))
	must(l.Record(Entry{Op: Write, Path: root + "/ckpt-1_temp/part-0", Cid: "Qd"}))
	must(l.RecordMove(root+"/ckpt-1_temp/part-0", root+"/ckpt-1.data-00000-of-00001"))
	must(l.Record(Entry{Op: Write, Path: root + "/sm_tmp/saved_model.pb", Cid: "Qe"}))
	must(l.Record(Entry{Op: Write, Path: root + "/sm_tmpx", Cid: "Qx"})) // a sibling sharing the prefix
	must(l.RecordMove(root+"/sm_tmp", root+"/sm"))
	// Overwritten later under the temporary name: the new write keeps that name.
	must(l.Record(Entry{Op: Write, Path: root + "/checkpoint.tmp1", Cid: "Qf"}))

	all, err := l.List(Filter{})
	must(err)
	want := []struct{ path, cid string }{
		{root + "/checkpoint", "Qc"},
		{root + "/ckpt-1.data-00000-of-00001", "Qd"},
		{root + "/sm/saved_model.pb", "Qe"},
		{root + "/sm_tmpx", "Qx"},
		{root + "/checkpoint.tmp1", "Qf"},
	}
	if len(all) != len(want) {
		t.Fatalf("got %d entries: %+v", len(all), all)
	}
	for i, w := range want {
		if all[i].Path != w.path || all[i].Cid != w.cid || all[i].N != i+1 {
			t.Fatalf("entry %d: %+v, want %s %s N=%d", i, all[i], w.path, w.cid, i+1)
		}
	}
	found, _ := l.List(Filter{Path: "ckpt-1.data"})
	if len(found) != 1 || found[0].Cid != "Qd" {
		t.Fatalf("--path ckpt-1.data found %+v", found)
	}
	e, err := l.Get(3)
	must(err)
	if e.Path != root+"/sm/saved_model.pb" {
		t.Fatalf("show 3: %s", e.Path)
	}
}

func TestWritesRemovedByTheirWriterAreNotListed(t *testing.T) {
	l, must := openForTest(t)
	const root = "iptf://repo/root/ckpt"
	must(l.Record(Entry{Op: Write, Path: root + "/ckpt-1_temp/part-0.index", Cid: "Qt", Pid: 7}))
	// The writer reads its temporary file back (a SavedModel merging its shards): not listed
	// either. The same bytes read by another process are.
	must(l.Record(Entry{Op: Read, Path: root + "/ckpt-1_temp/part-0.index", Cid: "Qt", Pid: 7}))
	must(l.Record(Entry{Op: Read, Path: root + "/ckpt-1_temp/part-0.index", Cid: "Qt", Pid: 9}))
	must(l.Record(Entry{Op: Write, Path: root + "/ckpt-1.index", Cid: "Qi", Pid: 7}))
	must(l.Record(Entry{Op: Write, Path: root + "/kept.txt", Cid: "Qk", Pid: 7}))
	must(l.RecordRemove(root+"/ckpt-1_temp", 7))
	must(l.RecordRemove(root+"/kept.txt", 8)) // removed by another process: its write stays listed
	must(l.Record(Entry{Op: Write, Path: root + "/ckpt-1_temp/part-0.index", Cid: "Qu", Pid: 7}))
	all, err := l.List(Filter{})
	must(err)
	var cids []string
	for _, e := range all {
		cids = append(cids, e.Cid)
	}
	if len(all) != 4 || cids[0] != "Qt" || all[0].Pid != 9 || cids[1] != "Qi" || cids[2] != "Qk" || cids[3] != "Qu" {
		t.Fatalf("listed %v", cids)
	}
	if all[1].N != 4 || all[3].N != 6 {
		t.Fatalf("numbers %d %d", all[1].N, all[3].N)
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
	named, err := l.Named(func(e Entry) bool { return !e.Time.Before(time.Now().Add(-time.Hour)) })
	if err != nil || len(named) != 2 || named[0].Cid != "Qa" || named[1].Size != 5 {
		t.Fatalf("named since an hour ago: %+v, %v", named, err)
	}
	if all, _ := l.Named(func(Entry) bool { return true }); len(all) != 2 || !all[0].Newest.After(old) {
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

// openForTest opens a reflog in a temporary folder, with a check that fails the test on an error.
func openForTest(t *testing.T) (*Log, func(error)) {
	return Open(t.TempDir()), func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}
