package staging

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func spareNames(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(SparesOf(dir), SparePrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestOpenReadsOnlyTheContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "write-1")
	if err := os.WriteFile(path, []byte("new bytesOLD TAIL"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		size int64
		want string
	}{{9, "new bytes"}, {0, ""}, {Whole, "new bytesOLD TAIL"}} {
		r, n, err := File{Path: path, Size: c.size}.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(body) != c.want || n != int64(len(c.want)) {
			t.Errorf("size %d: read %q (length %d), %v; want %q", c.size, body, n, err, c.want)
		}
	}
	if _, _, err := (File{Path: path, Size: 100}).Open(); err == nil || !strings.Contains(err.Error(), "fewer than the 100 written") {
		t.Errorf("a staged file shorter than its size: %v", err)
	}
}

// sized makes a file of size bytes at path (sparse: no real bytes needed).
func sized(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// spareSizes lists the sizes of dir's spares, largest first.
func spareSizes(t *testing.T, dir string) []int64 {
	t.Helper()
	var sizes []int64
	for _, s := range spares(dir) {
		sizes = append(sizes, s.size)
	}
	return sizes
}

func recycle(t *testing.T, dir, name string, size int64) {
	t.Helper()
	path := filepath.Join(dir, name)
	sized(t, path, size)
	if err := Recycle(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("%s still there after Recycle", path)
	}
}

func TestRecycleKeepsTheLargestSparesWithinBudget(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < MaxSpares+2; i++ {
		recycle(t, dir, "write-"+string(rune('a'+i)), int64(i+1)*MinSpareBytes)
	}
	want := []int64{6 * MinSpareBytes, 5 * MinSpareBytes, 4 * MinSpareBytes, 3 * MinSpareBytes}
	if got := spareSizes(t, dir); !slices.Equal(got, want) {
		t.Fatalf("spares %v, want the largest %v", got, want)
	}
	// A file smaller than every spare does not evict one.
	recycle(t, dir, "write-small", MinSpareBytes)
	if got := spareSizes(t, dir); !slices.Equal(got, want) {
		t.Fatalf("spares %v after a smaller file, want %v", got, want)
	}
	if n := len(spareNames(t, dir)); n != MaxSpares {
		t.Fatalf("%d spares, want the budget's %d", n, MaxSpares)
	}

	// A file too small to be worth keeping is deleted, and evicts nothing.
	recycle(t, dir, "write-tiny", MinSpareBytes-1)
	if got := spareSizes(t, dir); !slices.Equal(got, want) {
		t.Fatalf("spares %v after a tiny file, want %v", got, want)
	}

	// Bytes: a large file evicts smaller spares until it fits in MaxSpareBytes.
	recycle(t, dir, "write-large", MaxSpareBytes-6*MinSpareBytes)
	if got := spareSizes(t, dir); !slices.Equal(got, []int64{MaxSpareBytes - 6*MinSpareBytes, 6 * MinSpareBytes}) {
		t.Fatalf("spares %v after a large file", got)
	}

	// A file over the whole byte budget is deleted, not kept.
	dir2 := t.TempDir()
	recycle(t, dir2, "write-big", MaxSpareBytes+1)
	if names := spareNames(t, dir2); len(names) != 0 {
		t.Fatalf("a file over the byte budget was kept: %v", names)
	}
}

func TestCheckAcceptsOnlyTheRepoStagingFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "staging")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "write-123")
	sized(t, own, 10)
	user := filepath.Join(root, "write-mine")
	sized(t, user, 10)
	if err := os.Symlink(user, filepath.Join(dir, "write-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(user, filepath.Join(dir, "write-hard")); err != nil {
		t.Fatal(err)
	}
	sized(t, filepath.Join(dir, "notes.txt"), 1)
	if err := os.Mkdir(filepath.Join(dir, "write-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir, own); err != nil {
		t.Fatalf("the repo's own staging file: %v", err)
	}
	for _, p := range []string{
		user, "write-123", filepath.Join(dir, "write-link"), filepath.Join(dir, "write-hard"),
		filepath.Join(dir, "notes.txt"), filepath.Join(dir, "write-dir"), filepath.Join(dir, "write-gone"),
		dir + "/write-dir/../../write-mine", dir + "/./write-123",
	} {
		if err := Check(dir, p); err == nil {
			t.Errorf("%s accepted as a staging file", p)
		}
	}
}

// A spare made ahead is what the next writer is handed (renamed), and another is made after it.
func TestAheadKeepsASpareForTheNextWriter(t *testing.T) {
	dir := t.TempDir()
	ahead := NewAhead(dir)
	waitForSpares := func() []spare {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if s := spares(dir); len(s) > 0 && !ahead.busy.Load() {
				return s
			}
		}
		t.Fatal("no spare was made ahead")
		return nil
	}
	ahead.Refill()
	made := waitForSpares()
	if len(made) != 1 || made[0].size != 0 {
		t.Fatalf("spares made ahead: %+v, want one empty file", made)
	}
	before, err := os.Stat(made[0].path)
	if err != nil {
		t.Fatal(err)
	}
	path, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the writer's file %s is not the spare made ahead (%v)", path, err)
	}
	ahead.Refill()
	if again := waitForSpares(); len(again) != 1 || again[0].path == made[0].path {
		t.Fatalf("after the writer took it: %+v", again)
	}
	ahead.Refill() // one spare is enough
	if time.Sleep(10 * time.Millisecond); len(spares(dir)) != 1 {
		t.Fatalf("spares: %+v, want one", spares(dir))
	}
}
