package staging

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path string, size int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Repeat("x", size)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func spareNames(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, SparePrefix+"*"))
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

func TestRecycleKeepsSparesWithinBudget(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < MaxSpares+2; i++ {
		path := filepath.Join(dir, "write-"+string(rune('a'+i)))
		write(t, path, 1000)
		if err := Recycle(path); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("%s still there after Recycle", path)
		}
	}
	if n := len(spareNames(t, dir)); n != MaxSpares {
		t.Fatalf("%d spares, want the budget's %d", n, MaxSpares)
	}

	// A file that would take the spares beyond MaxSpareBytes is deleted, not kept.
	dir2 := t.TempDir()
	big := filepath.Join(dir2, "write-big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxSpareBytes + 1); err != nil { // sparse: no real bytes needed
		t.Fatal(err)
	}
	f.Close()
	if err := Recycle(big); err != nil {
		t.Fatal(err)
	}
	if names := spareNames(t, dir2); len(names) != 0 {
		t.Fatalf("a file over the byte budget was kept: %v", names)
	}
	if _, err := os.Stat(big); !os.IsNotExist(err) {
		t.Fatal("a file over the byte budget was not deleted")
	}
}
