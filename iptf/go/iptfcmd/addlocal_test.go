package iptfcmd

import (
	"bytes"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/boxo/files"
)

// An add of files on disk goes over the API as paths: the encoded request holds no file
// bytes, and the node side reads every file back from its path, under its name.
func TestAddSendsPathsAndTheNodeReadsThem(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("iptf"), 1<<18) // 1 MiB
	must(t, os.MkdirAll(filepath.Join(dir, "data", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "data", "big.bin"), big, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "data", "sub", "small.txt"), []byte("small"), 0o600))
	must(t, os.Symlink("big.bin", filepath.Join(dir, "data", "link")))
	must(t, os.WriteFile(filepath.Join(dir, "top.txt"), []byte("top"), 0o644))

	args := func() files.Directory { // what the command line builds from `add -r data top.txt`
		var entries []files.DirEntry
		for _, name := range []string{"data", "top.txt"} {
			p := filepath.Join(dir, name)
			st, err := os.Lstat(p)
			must(t, err)
			nd, err := files.NewSerialFile(p, false, st)
			must(t, err)
			entries = append(entries, files.FileEntry(name, nd))
		}
		return files.NewSliceDirectory(entries)
	}
	req := args()
	if !onDisk(req, true) {
		t.Fatal("files on disk not taken for files on disk")
	}
	sent := asPaths(req).(files.Directory)
	if size, err := sent.Size(); err != nil || size != int64(len(big)+len("small")+len("top")+len("big.bin")) {
		t.Fatalf("size for the progress bar: %d, %v", size, err)
	}

	// Over the API as the HTTP client encodes it, and back as the node decodes it.
	mfr := files.NewMultiFileReader(sent, true, false)
	body, err := io.ReadAll(mfr)
	must(t, err)
	if len(body) > 16<<10 {
		t.Fatalf("the request carries %d bytes: file contents were sent", len(body))
	}
	received, err := files.NewFileFromPartReader(multipart.NewReader(bytes.NewReader(body), mfr.Boundary()),
		"multipart/form-data")
	must(t, err)
	opened, err := fromPaths(received)
	must(t, err)
	got := map[string]string{}
	must(t, files.Walk(opened, func(p string, nd files.Node) error {
		switch n := nd.(type) {
		case *files.Symlink:
			got[p] = "-> " + n.Target
		case files.File:
			b, err := io.ReadAll(n)
			got[p] = string(b)
			return err
		}
		return nil
	}))
	want := map[string]string{"data/big.bin": string(big), "data/sub/small.txt": "small", "data/link": "-> big.bin",
		"top.txt": "top"}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: got %.20q, want %.20q", p, got[p], w)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
