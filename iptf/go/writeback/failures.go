package writeback

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// failedName is the file, in the staging directory, listing the queued changes that could not
// be applied: a failure outlives the node, and stays listed until it is retried or discarded.
const failedName = "writeback.failed.jsonl"

// Failure is an op that could not be applied; a Write's staged bytes are kept.
type Failure struct {
	Op   Op
	Why  string
	Code string    `json:",omitempty"` // the error's class, when it named one (see Coded)
	Time time.Time `json:",omitempty"` // when it failed
	// Superseded is set once the path was written or removed again: the failure no longer
	// stands in the way of the path, but its bytes are kept until it is discarded.
	Superseded bool `json:",omitempty"`
}

// Coded is an error that names its class (the node's filesystem errors do).
type Coded interface {
	error
	ErrorCode() string
}

// Blocks reports whether the failure stands for the content of tree path p: the last change
// made to p failed, so p does not hold what its writer closed.
func (f Failure) Blocks(p string) bool {
	if f.Superseded {
		return false
	}
	return f.Op.Kind == Write && f.Op.Path == p || f.Op.Kind == Move && f.Op.Dst == p
}

// newFailure describes op failing with err.
func newFailure(op Op, err error) Failure {
	f := Failure{Op: op, Why: err.Error(), Time: time.Now().UTC()}
	var coded Coded
	if errors.As(err, &coded) {
		f.Code = coded.ErrorCode()
	}
	return f
}

// loadFailures reads the failures listed in dir (none when the file does not exist).
func loadFailures(dir string) ([]Failure, error) {
	f, err := os.Open(filepath.Join(dir, failedName))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Failure
	n := 0
	_, err = eachLine(f, func(line []byte, _ bool) {
		n++
		var fl Failure
		if json.Unmarshal(line, &fl) != nil || fl.Op.Kind == "" {
			out = append(out, Failure{Op: Op{Kind: Damaged, Staged: f.Name()},
				Why: fmt.Sprintf("line %d of %s is not a failure record (%s)", n, f.Name(), preview(line))})
			return
		}
		out = append(out, fl)
	})
	return out, err
}

// saveFailures replaces the list of failures in dir with those not standing for damaged
// journal lines (the quarantine file lists those), atomically.
func saveFailures(dir string, failures []Failure) error {
	path := filepath.Join(dir, failedName)
	var lines [][]byte
	for _, f := range failures {
		if f.Op.Kind == Damaged {
			continue
		}
		line, err := json.Marshal(f)
		if err != nil {
			return err
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	tmp := path + ".new"
	_ = os.Remove(tmp)
	if err := appendLines(tmp, lines); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
