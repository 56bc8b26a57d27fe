package writeback

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// journalName is the file, in the staging directory, recording queued and applied ops.
const journalName = "writeback.jsonl"

// quarantineName is the file, in the staging directory, holding journal lines that could not
// be decoded, moved aside so that the rest of the queue applies. It is kept until a user
// removes it, and every line in it is reported as a failure.
const quarantineName = "writeback.damaged.jsonl"

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
// order, and the failures its damaged lines (moved to the quarantine file) stand for; the
// journal is rewritten to hold just the ops left.
func openJournal(dir string) (*journal, []Op, []Failure, error) {
	path := filepath.Join(dir, journalName)
	read, err := readJournal(path)
	if err != nil {
		return nil, nil, nil, err
	}
	quarantine := filepath.Join(dir, quarantineName)
	if err := appendLines(quarantine, read.damaged); err != nil {
		return nil, nil, nil, fmt.Errorf("moving damaged journal lines aside: %w", err)
	}
	failures, err := quarantined(quarantine)
	if err != nil {
		return nil, nil, nil, err
	}
	j, err := compactJournal(path, read.left)
	if err != nil && len(read.damaged) == 0 {
		// No room for a new journal (a full disk): the old one, without a line cut short,
		// holds the same ops, and appending to it costs no more than the queue always does.
		log.Warnf("write-back journal: keeping %s as it is: %s", path, err)
		j, err = reuseJournal(path, read)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return j, read.left, failures, nil
}

// compactJournal replaces the journal at path with one holding just the ops left.
func compactJournal(path string, left []Op) (*journal, error) {
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	j := &journal{path: path, f: f}
	for _, op := range left {
		if err := j.add(op); err != nil {
			f.Close()
			os.Remove(tmp)
			return nil, err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	return j, nil
}

// reuseJournal opens the journal at path for appending, cut after its last whole line.
func reuseJournal(path string, read journalRead) (*journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(read.whole); err != nil {
		f.Close()
		return nil, err
	}
	j := &journal{path: path, f: f}
	if read.lastUnterminated != nil { // a whole op but for its newline: write it again
		if err := j.add(*read.lastUnterminated); err != nil {
			f.Close()
			return nil, err
		}
	}
	return j, nil
}

// journalRead is what a journal holds.
type journalRead struct {
	left    []Op     // ops queued and never applied, in order
	damaged [][]byte // lines that are not entries
	whole   int64    // bytes up to the end of the last line a newline ends
	// lastUnterminated is the op of a last line that decodes but lacks its newline.
	lastUnterminated *Op
}

// readJournal reads the journal at path. Lines have no length limit: a path is as long as a
// user made it.
func readJournal(path string) (journalRead, error) {
	var read journalRead
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return read, nil
	}
	if err != nil {
		return read, err
	}
	defer f.Close()
	queued := map[uint64]Op{}
	read.whole, err = eachLine(f, func(line []byte, terminated bool) {
		e, ok := decodeEntry(line)
		switch {
		case !ok && !terminated:
			// The last line, cut short: the node was killed while writing it (the kernel stops
			// a write to a file between pages for SIGKILL). It answered nobody for this op,
			// whose writer saw its close fail, so it is no failure to report.
			log.Infof("write-back journal: dropping its last line, cut short when the node was killed (%d bytes: %s)",
				len(line), preview(line))
		case !ok:
			read.damaged = append(read.damaged, line)
		case e.Done != 0:
			delete(queued, e.Done)
		default:
			queued[e.Seq] = e.Op
			if !terminated {
				op := e.Op
				read.lastUnterminated = &op
			}
		}
	})
	read.left = make([]Op, 0, len(queued))
	for _, op := range queued {
		read.left = append(read.left, op)
	}
	sort.Slice(read.left, func(i, j int) bool { return read.left[i].Seq < read.left[j].Seq })
	return read, err
}

// decodeEntry decodes one journal line; ok is false for a line that is not a whole entry (cut
// short when the node was killed, or damaged on disk).
func decodeEntry(line []byte) (e entry, ok bool) {
	if json.Unmarshal(line, &e) != nil {
		return e, false
	}
	if e.Done != 0 {
		return e, true
	}
	known := e.Kind == Write && e.Staged != "" || e.Kind == Move && e.Dst != ""
	return e, e.Seq != 0 && e.Path != "" && known
}

// eachLine calls fn with every non-blank line of r (without its newline), however long, and
// whether a newline ended it (only the last line can lack one). It returns how many bytes
// precede the end of the last newline.
func eachLine(r io.Reader, fn func(line []byte, terminated bool)) (int64, error) {
	br := bufio.NewReader(r)
	var whole int64
	for {
		line, err := br.ReadBytes('\n')
		terminated := bytes.HasSuffix(line, []byte{'\n'})
		if terminated {
			whole += int64(len(line))
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			fn(trimmed, terminated)
		}
		if errors.Is(err, io.EOF) {
			return whole, nil
		}
		if err != nil {
			return whole, err
		}
	}
}

// appendLines appends lines to the file at path, creating it, and syncs it.
func appendLines(path string, lines [][]byte) error {
	if len(lines) == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, l := range lines {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// quarantined lists the lines of the quarantine file at path as failures.
func quarantined(path string) ([]Failure, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var failures []Failure
	n := 0
	_, err = eachLine(f, func(line []byte, _ bool) {
		n++
		failures = append(failures, Failure{
			Op:  Op{Kind: Damaged, Staged: path},
			Why: fmt.Sprintf("line %d of %s is not a journal entry (%d bytes: %s)", n, path, len(line), preview(line)),
		})
	})
	return failures, err
}

// preview is the start of a damaged line, short enough for one line of `iptf status`.
func preview(line []byte) string {
	const max = 60
	if len(line) <= max {
		return fmt.Sprintf("%q", line)
	}
	return fmt.Sprintf("%q…", line[:max])
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
