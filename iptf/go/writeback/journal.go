package writeback

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
)

// journalName is the file, in the staging directory, recording queued and applied ops.
const journalName = "writeback.jsonl"

// entry is one journal line: an op queued, or (Done set) the op with that sequence applied.
type entry struct {
	Op
	Done uint64 `json:"done,omitempty"`
}

// journal appends what happens to the queue, so that a node stopped while ops are queued
// applies them on its next run. It is emptied whenever the queue is.
type journal struct {
	path string
	f    *os.File
}

// openJournal opens dir's journal and returns the ops it holds that were never applied, in
// order; the journal is rewritten to hold just those.
func openJournal(dir string) (*journal, []Op, error) {
	path := filepath.Join(dir, journalName)
	left, err := readJournal(path)
	if err != nil {
		return nil, nil, err
	}
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	j := &journal{path: path, f: f}
	for _, op := range left {
		if err := j.add(op); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		f.Close()
		return nil, nil, err
	}
	return j, left, nil
}

func readJournal(path string) ([]Op, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	queued := map[uint64]Op{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var e entry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // a line cut short when the node was killed
		}
		if e.Done != 0 {
			delete(queued, e.Done)
		} else if e.Seq != 0 {
			queued[e.Seq] = e.Op
		}
	}
	left := make([]Op, 0, len(queued))
	for _, op := range queued {
		left = append(left, op)
	}
	sort.Slice(left, func(i, j int) bool { return left[i].Seq < left[j].Seq })
	return left, sc.Err()
}

func (j *journal) add(op Op) error { return j.write(entry{Op: op}) }

// done records that op seq was applied; when nothing is left queued the journal is emptied.
func (j *journal) done(seq uint64, empty bool) error {
	if empty {
		return j.f.Truncate(0)
	}
	return j.write(entry{Done: seq})
}

func (j *journal) write(e entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = j.f.Write(append(line, '\n'))
	return err
}
