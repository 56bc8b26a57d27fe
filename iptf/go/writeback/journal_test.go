package writeback

import (
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
	if len(fails) != 2 {
		t.Fatalf("failures %+v, want the two damaged lines", fails)
	}
	quarantine := filepath.Join(dir, quarantineName)
	for _, f := range fails {
		if f.Op.Kind != Damaged || f.Op.Staged != quarantine || !strings.Contains(f.Why, quarantine) {
			t.Errorf("failure %+v does not name the quarantine file", f)
		}
	}
	kept, err := os.ReadFile(quarantine)
	if err != nil || strings.Count(string(kept), "\n") != 2 || !strings.Contains(string(kept), `"path":"/cut`) {
		t.Fatalf("quarantine holds %q, %v", kept, err)
	}

	// The journal no longer holds the damaged lines; the next run still reports them, until the
	// quarantine file is removed.
	again, err := Open(waitCtx(t), dir, newTree().apply, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(again.Failures()); n != 2 {
		t.Fatalf("the next run reports %d quarantined lines, want 2", n)
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
// entry or quarantined.
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
		for _, l := range strings.Split(string(data), "\n") {
			if _, ok := decodeEntry([]byte(strings.TrimSpace(l))); !ok && strings.TrimSpace(l) != "" {
				lines++
			}
		}
		if len(damaged) != lines {
			t.Fatalf("%d failures for %d damaged lines", len(damaged), lines)
		}
	})
}
