package writeback

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeJournal puts lines in dir's journal as a killed node would have left them.
func writeJournal(t *testing.T, dir string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, journalName), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func queuedLine(t *testing.T, op Op) string {
	t.Helper()
	line, err := json.Marshal(entry{Op: op})
	if err != nil {
		t.Fatal(err)
	}
	return string(line)
}

// A huge line applies; a damaged one is quarantined and reported; the last line, cut short by
// a kill while the node wrote it, answered nobody and is dropped without a report.
func TestJournalWithAHugeAndADamagedLineStillApplies(t *testing.T) {
	dir := t.TempDir()
	long := "/" + strings.Repeat("n", 200_000)
	first, huge, last := staged(t, dir, "first"), staged(t, dir, "huge"), staged(t, dir, "last")
	writeJournal(t, dir,
		queuedLine(t, Op{Seq: 1, Kind: Write, Path: "/first", Staged: first.Path, Size: &first.Size}),
		queuedLine(t, Op{Seq: 2, Kind: Write, Path: long, Staged: huge.Path, Size: &huge.Size}),
		`{"seq":3,"kind":"write","path":"/cut","sta`+"\x00\xff garbage",
		queuedLine(t, Op{Seq: 4, Kind: Write, Path: "/last", Staged: last.Path, Size: &last.Size}),
		`{"seq":5,"kind":"write","path":"/cut short when the node was kil`)

	tr := newTree()
	q, err := Open(waitCtx(t), dir, tr.apply, nil)
	if err != nil {
		t.Fatalf("a damaged journal stops the queue: %v", err)
	}
	if err := q.WaitFor(waitCtx(t), "/"); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"/first": "first", long: "huge", "/last": "last"} {
		if body, _ := tr.get(p); body != want {
			t.Errorf("%.20s = %q, want %q", p, body, want)
		}
	}
	fails := q.Failures()
	if len(fails) != 1 {
		t.Fatalf("failures %+v, want the damaged line's", fails)
	}
	quarantine := filepath.Join(dir, quarantineName)
	for _, f := range fails {
		if f.Op.Kind != Damaged || f.Op.Staged != quarantine || !strings.Contains(f.Why, quarantine) {
			t.Errorf("failure %+v does not name the quarantine file", f)
		}
	}
	kept, err := os.ReadFile(quarantine)
	if err != nil || strings.Count(string(kept), "\n") != 1 || !strings.Contains(string(kept), `"path":"/cut","sta`) {
		t.Fatalf("quarantine holds %q, %v", kept, err)
	}

	// The journal no longer holds the damaged lines; the next run still reports them, until the
	// quarantine file is removed.
	again, err := Open(waitCtx(t), dir, newTree().apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(again.Failures()); n != 1 {
		t.Fatalf("the next run reports %d quarantined lines, want 1", n)
	}
	if kept2, _ := os.ReadFile(quarantine); string(kept2) != string(kept) {
		t.Fatalf("reopening changed the quarantine: %q", kept2)
	}
}

func TestDecodeEntryRejectsIncompleteOps(t *testing.T) {
	for _, line := range []string{
		`{}`, `{"seq":1}`, `{"seq":1,"kind":"write","path":"/a"}`, `{"seq":1,"kind":"move","path":"/a"}`,
		`{"seq":1,"kind":"delete","path":"/a","dst":"/b"}`, `[1,2]`, `null`, `{"done":"x"}`,
	} {
		if _, ok := decodeEntry([]byte(line)); ok {
			t.Errorf("%s decoded as an entry", line)
		}
	}
	for _, line := range []string{
		`{"done":3}`, `{"seq":1,"kind":"write","path":"/a","staged":"/s/write-1"}`,
		`{"seq":2,"kind":"move","path":"/a","dst":"/b"}`,
	} {
		if _, ok := decodeEntry([]byte(line)); !ok {
			t.Errorf("%s rejected", line)
		}
	}
}

// FuzzJournal: any journal bytes open without error or panic, and every line is either an
// entry or quarantined, but for a last line without a newline (cut short by a kill).
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"seq":1,"kind":"write","path":"/a","staged":"/s/w"}` + "\n" + `{"done":1}` + "\n"))
	f.Add([]byte(`{"seq":1,"kind":"move","path":"/a","dst":"/b"}` + "\n" + `{"seq":2,"kind"`))
	f.Add([]byte("\x00\n\n{\"done\":18446744073709551615}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, journalName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, left, damaged, err := openJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer j.f.Close()
		for i := 1; i < len(left); i++ {
			if left[i-1].Seq >= left[i].Seq {
				t.Fatalf("ops out of order: %+v", left)
			}
		}
		lines := 0
		all := strings.Split(string(data), "\n")
		for _, l := range all[:len(all)-1] { // the last element is the unterminated line
			if _, ok := decodeEntry([]byte(strings.TrimSpace(l))); !ok && strings.TrimSpace(l) != "" {
				lines++
			}
		}
		if len(damaged) != lines {
			t.Fatalf("%d failures for %d damaged lines", len(damaged), lines)
		}
	})
}

// With no room for a compacted journal (a full disk), the queue goes on with the old one, cut
// after its last whole line: an op queued then follows the ones left, and a line cut short by
// a kill does not swallow it.
func TestJournalThatCannotBeCompactedIsReused(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, journalName+".new", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	one, two, three := staged(t, dir, "one"), staged(t, dir, "two"), staged(t, dir, "three")
	writeJournal(t, dir,
		queuedLine(t, Op{Seq: 1, Kind: Write, Path: "/one", Staged: one.Path}),
		`{"done":1}`,
		queuedLine(t, Op{Seq: 2, Kind: Write, Path: "/two", Staged: two.Path}),
		`{"seq":3,"kind":"write","path":"/cut short`)
	tr := newTree()
	tr.gate = make(chan struct{}) // nothing applies
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	q, err := Open(ctx, dir, tr.apply, nil)
	if err != nil {
		t.Fatalf("a journal that cannot be compacted stops the queue: %v", err)
	}
	if err := q.EnqueueWrite("/three", three, -1, 1, "p", false); err != nil {
		t.Fatal(err)
	}
	read, err := readJournal(filepath.Join(dir, journalName))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, op := range read.left {
		paths = append(paths, op.Path)
	}
	if strings.Join(paths, " ") != "/two /three" || len(read.damaged) != 0 {
		t.Fatalf("the journal holds %v and damaged %q, want /two /three", paths, read.damaged)
	}
	if q.Failures() != nil {
		t.Fatalf("failures %+v", q.Failures())
	}
}
