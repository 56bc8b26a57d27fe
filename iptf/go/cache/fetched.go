package cache

import (
	"bufio"
	"errors"
	"io"
	"os"

	mh "github.com/multiformats/go-multihash"
)

// fetchedSet is the set of blocks the node fetched from peers, by multihash, kept in a file
// (multihashes one after the other: each says its own length) so that what earlier runs
// fetched stays evictable. Blocks missing from it were made here (added, written) or came
// another way: the cache never evicts them.
type fetchedSet struct {
	path string
	keys map[string]bool
	file *os.File // appended to as blocks are fetched
}

// loadFetched reads the set at path (empty when there is none yet); a damaged tail is
// dropped: the blocks it named stay, unevicted.
func loadFetched(path string) (*fetchedSet, error) {
	s := &fetchedSet{path: path, keys: map[string]bool{}}
	if f, err := os.Open(path); err == nil {
		r := mh.NewReader(bufio.NewReader(f))
		for {
			m, err := r.ReadMultihash()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					log.Warnf("cache: %s is damaged after %d entries: %s", path, len(s.keys), err)
				}
				break
			}
			s.keys[string(m)] = true
		}
		f.Close()
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	return s, s.rewrite()
}

// add records fetched blocks.
func (s *fetchedSet) add(keys []string) {
	var buf []byte
	for _, k := range keys {
		if !s.keys[k] {
			s.keys[k] = true
			buf = append(buf, k...)
		}
	}
	if len(buf) > 0 && s.file != nil {
		if _, err := s.file.Write(buf); err != nil {
			log.Warnf("cache: recording fetched blocks in %s: %s", s.path, err)
		}
	}
}

// remove forgets evicted blocks.
func (s *fetchedSet) remove(keys []string) {
	for _, k := range keys {
		delete(s.keys, k)
	}
}

// rewrite replaces the file with the set as it is (written beside it, then renamed), and
// appends to the new file from then on.
func (s *fetchedSet) rewrite() error {
	tmp := s.path + ".new"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for k := range s.keys {
		w.WriteString(k)
	}
	if err := errors.Join(w.Flush(), os.Rename(tmp, s.path)); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if s.file != nil {
		s.file.Close()
	}
	s.file = f
	return nil
}
