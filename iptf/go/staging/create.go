package staging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Create hands a writer a staging file in dir: the largest spare, renamed to a writer's name,
// or a new empty file. The writer overwrites it from its start and says how many bytes it
// wrote; a spare's old bytes beyond that are never imported. Only the node creates staging
// files, so only files it handed out are ever taken back (see Check).
func Create(dir string) (string, error) { return create(dir, WriterPrefix) }

// CreateNext hands an appender a staging file for its next append to a file, before it opens
// the file again: the appender renames it to a writer's name when it does (see NextPrefix).
func CreateNext(dir string) (string, error) { return create(dir, NextPrefix) }

func create(dir, prefix string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	for attempt := 0; attempt < 8; attempt++ {
		name, err := randomName(prefix)
		if err != nil {
			return "", err
		}
		path := filepath.Join(dir, name)
		for _, s := range spares(dir) {
			if os.Rename(s.path, path) == nil { // fails when another writer took it first
				return path, nil
			}
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return path, f.Close()
	}
	return "", fmt.Errorf("no free staging file name in %s", dir)
}

// SpaceMargin is the free space the repo's filesystem keeps beyond the blocks of queued
// writes: the node's own bookkeeping (the datastore's log, the tree's root, the journal) must
// still fit when a queued import runs, or the import fails after its close succeeded.
const SpaceMargin = 32 << 20

// ImportCost is what importing size bytes adds to the blockstore, at most: the bytes, plus a
// file per block and the DAG's inner nodes (under 1/64 of the bytes with 256 KiB chunks).
func ImportCost(size int64) int64 {
	return size + size/64 + 64<<10
}

// Free is the space, in bytes, an unprivileged writer may still use on the filesystem of dir.
func Free(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// DropSpares removes every spare in dir and returns the bytes freed: spares only make writes
// faster, and their space is worth more to an import than their pages are to a writer.
func DropSpares(dir string) int64 {
	var freed int64
	for _, s := range spares(dir) {
		if os.Remove(s.path) == nil {
			freed += s.size
		}
	}
	return freed
}
