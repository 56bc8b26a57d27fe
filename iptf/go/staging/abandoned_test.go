package staging

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSweepListsOnlyUnownedClosedFilesAndRemovesOldOnes(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	write := func(name string, age time.Duration) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("bytes"), 0o600); err != nil {
			t.Fatal(err)
		}
		when := now.Add(-age)
		if err := os.Chtimes(path, when, when); err != nil {
			t.Fatal(err)
		}
		return path
	}
	crashed := write("write-crashed", time.Hour)
	fresh := write("write-fresh", time.Second) // just closed, about to be handed over
	queued := write("write-queued", time.Hour)
	stillOpen := write("write-open", time.Hour)
	old := write("write-old", 2*AbandonedGrace)
	formerSpare := write("spare-aaaa", time.Hour) // where earlier versions kept spares
	f, err := os.Open(stillOpen)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	got, err := Sweep(dir, func(p string) bool { return p == queued }, AbandonedGrace, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Path != crashed || got[0].Size != 5 {
		t.Fatalf("abandoned: %+v", got)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("a file abandoned beyond the grace period is still there: %v", err)
	}
	if _, err := os.Stat(formerSpare); !os.IsNotExist(err) {
		t.Fatalf("a spare beside the writers' files is still there: %v", err)
	}
	for _, kept := range []string{crashed, fresh, queued, stillOpen} {
		if _, err := os.Stat(kept); err != nil {
			t.Fatalf("%s: %v", kept, err)
		}
	}
}

func TestSweepMakesUntakenNextFilesSparesWithoutReportingThem(t *testing.T) {
	dir := t.TempDir()
	untaken, err := CreateNext(dir)
	if err != nil {
		t.Fatal(err)
	}
	held, err := CreateNext(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{untaken, held} {
		if err := os.WriteFile(p, make([]byte, MinSpareBytes), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(held, os.O_WRONLY, 0) // an appender keeps its next file open
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	got, err := Sweep(dir, func(string) bool { return false }, AbandonedGrace, time.Now().Add(2*Settle))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("next files reported as abandoned writes: %+v", got)
	}
	if _, err := os.Stat(untaken); !os.IsNotExist(err) {
		t.Fatalf("a next file nobody holds is still there: %v", err)
	}
	if s := spares(dir); len(s) != 1 || s[0].size != MinSpareBytes {
		t.Fatalf("spares after the sweep: %+v", s)
	}
	if _, err := os.Stat(held); err != nil {
		t.Fatalf("a next file its appender holds: %v", err)
	}
}
