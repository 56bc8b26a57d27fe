// Package staging handles <repo>/staging/, where writers fill local files that the node then
// imports into the writable tree.
//
// A staged file's content is its first Size bytes: a writer may be given a spare, a staging
// file already imported, and overwrite it from the start without truncating it. Writing over
// pages the page cache already holds costs a copy; a fresh file costs a page allocation per
// 4 KiB (and on a virtual machine that returns freed memory to its host, a host page fault
// too: measured here at 120-450 MB/s against 8 GB/s for overwriting). So the node keeps
// files it has imported as spares, within a budget, instead of deleting them.
package staging

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// SparePrefix starts the name of every spare; Create hands a spare to a writer by renaming it
// to a writer's staging file name.
const SparePrefix = "spare-"

// SpareDir is the folder of the staging directory that holds the spares. It is apart from the
// writers' files so that finding a spare lists a handful of names, not every file queued for
// import (thousands when a writer appends faster than the node imports).
const SpareDir = "spares"

// SparesOf is the folder of the spares of the staging directory dir.
func SparesOf(dir string) string { return filepath.Join(dir, SpareDir) }

// Budget for spares: enough for a few checkpoints or shards in flight, small beside a dataset.
// Below MinSpareBytes a fresh file costs less than the round trip to the node that imports it,
// so smaller files are not worth a place among the MaxSpares.
const (
	MaxSpares     = 4
	MaxSpareBytes = 1 << 30
	MinSpareBytes = 1 << 20
)

// File is a staged file: Path's first Size bytes (the whole file when Size is negative).
// With Base set, the content is Base's content followed by the staged bytes from Offset on: a
// writer appending to a file, or flushing one it keeps writing, stages only what is new since
// Base (the file's earlier version) and the node extends Base's DAG instead of importing it all.
type File struct {
	Path   string
	Size   int64
	Base   string // CID of the content before the staged bytes ("" for none)
	Offset int64  // where, in Path, the bytes after the base start (0 without a base)
	// AfterQueued: the base is what the writes queued for the path leave there, BaseSize bytes
	// (an append opened while the file's last write was still queued); Base is then "".
	AfterQueued bool
	BaseSize    int64
	// Kept: a flush of a file its writer keeps writing; the node reads the first Size bytes
	// and leaves the file to the writer, whose close hands it over.
	Kept bool
	// Ahead: an append into a next file (CreateNext), staged after what the file held when the
	// appender's previous write was queued. It goes after whatever the file holds when this
	// write is queued, as O_APPEND writes go at the file's end whoever wrote before them; the
	// queue then journals that base, so Ahead itself is never journaled.
	Ahead bool
}

// HasBase reports whether the staged bytes follow other content (a CID, or queued writes).
func (f File) HasBase() bool { return f.Base != "" || f.AfterQueued }

// Whole is the size of a staged file whose every byte is content.
const Whole int64 = -1

// Open opens f for reading its staged bytes (from Offset), and returns their length.
func (f File) Open() (io.ReadCloser, int64, error) {
	h, err := os.Open(f.Path)
	if err != nil {
		return nil, 0, err
	}
	st, err := h.Stat()
	if err != nil {
		h.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		h.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file", f.Path)
	}
	size := f.Size
	if size < 0 {
		size = st.Size()
	}
	if st.Size() < size {
		h.Close()
		return nil, 0, fmt.Errorf("%s holds %d bytes, fewer than the %d written", f.Path, st.Size(), size)
	}
	if f.Offset < 0 || f.Offset > size {
		h.Close()
		return nil, 0, fmt.Errorf("offset %d is outside the %d bytes staged in %s", f.Offset, size, f.Path)
	}
	return readCloser{io.NewSectionReader(h, f.Offset, size-f.Offset), h}, size - f.Offset, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Recycle keeps the imported staging file path as a spare of its directory, and deletes it
// if it is not worth keeping. The spares kept are the largest: a new file evicts smaller
// spares to fit the budget, since a writer is given the largest spare there is (Create,
// handing out a spare being evicted, finds it gone and takes another).
func Recycle(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	size := st.Size()
	if size < MinSpareBytes || size > MaxSpareBytes {
		return os.Remove(path)
	}
	kept := spares(dir)
	count, bytes := len(kept), int64(0)
	for _, s := range kept {
		bytes += s.size
	}
	// Evict the smallest spares while the new file does not fit and is larger than them.
	for i := len(kept) - 1; i >= 0 && (count >= MaxSpares || bytes+size > MaxSpareBytes) && kept[i].size < size; i-- {
		if err := os.Remove(kept[i].path); err != nil && !os.IsNotExist(err) {
			break
		}
		count--
		bytes -= kept[i].size
	}
	if count >= MaxSpares || bytes+size > MaxSpareBytes {
		return os.Remove(path)
	}
	if free, err := Free(dir); err == nil && free-size < SpaceMargin {
		return os.Remove(path) // the space is needed more than the pages
	}
	name, err := randomName(SparePrefix)
	if err != nil {
		return errors.Join(err, os.Remove(path))
	}
	if err := os.MkdirAll(SparesOf(dir), 0o700); err != nil {
		return errors.Join(err, os.Remove(path))
	}
	if err := os.Rename(path, filepath.Join(SparesOf(dir), name)); err != nil {
		return errors.Join(err, os.Remove(path))
	}
	return nil
}

type spare struct {
	path string
	size int64
}

// spares lists the spares of the staging directory dir, largest first.
func spares(dir string) []spare {
	entries, _ := os.ReadDir(SparesOf(dir))
	var found []spare
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), SparePrefix) || !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil {
			found = append(found, spare{filepath.Join(SparesOf(dir), e.Name()), info.Size()})
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].size > found[j].size })
	return found
}

// randomName is prefix followed by 16 random hex digits.
func randomName(prefix string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b), nil
}

// WriterPrefix starts the name of every file a writer stages (a claimed spare takes such a name).
const WriterPrefix = "write-"

// NextPrefix starts the name of a staging file handed to an appender ahead of its next append
// (CreateNext). It holds nothing yet: the appender renames it to a writer's name (WriterPrefix)
// before it writes, so a next file nobody took is a spare again, never lost work (Sweep).
const NextPrefix = "next-"

// Check reports why path cannot be a staged file of the staging directory dir. The node takes
// staged files over (it keeps them as spares), so it must only ever take its own: a regular
// file, not a link, with no other name, directly inside dir and named as writers name them.
func Check(dir, path string) error {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return fmt.Errorf("the staged file must be a clean absolute path, not %q", path)
	}
	if !strings.HasPrefix(filepath.Base(path), WriterPrefix) || !sameDir(filepath.Dir(path), dir) {
		return fmt.Errorf("%s is not a staging file of this repo (%s/%s*)", path, dir, WriterPrefix)
	}
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if links(st) > 1 {
		return fmt.Errorf("%s has other names: it is not only a staging file", path)
	}
	return nil
}

// sameDir reports whether a and b name the same directory.
func sameDir(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// links is a file's hard link count (1 where the system does not say).
func links(st os.FileInfo) uint64 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Nlink)
	}
	return 1
}
