package launcher

import (
	"errors"
	"os"
	"path/filepath"

	"iptf.io/node/defaults"
	"iptf.io/node/repodir"
)

// initRepo runs kubo's init and applies IPTF's defaults, all or nothing: a repo whose socket
// path cannot fit is refused before anything is written, and if init or the defaults fail,
// everything init created is removed, so no repo is left with kubo's TCP API and gateway.
func initRepo(repo string, args []string) int {
	if err := repodir.CheckSocketPath(repo); err != nil {
		return fail(err)
	}
	undo := undoCreation(repo)
	code := runKubo(args)
	if code == 0 {
		if err := defaults.Apply(repo); err != nil {
			code = fail(err)
		}
	}
	if code != 0 {
		if err := undo(); err != nil {
			fail(errors.Join(errors.New("removing what the failed init created"), err))
		}
	}
	return code
}

// undoCreation notes what exists at dir and returns a function that removes what was created
// there since: dir itself if it did not exist, else the entries it did not hold.
func undoCreation(dir string) func() error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return func() error { return os.RemoveAll(dir) }
	}
	existed := map[string]bool{}
	for _, e := range entries {
		existed[e.Name()] = true
	}
	return func() error {
		now, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		var errs []error
		for _, e := range now {
			if !existed[e.Name()] {
				errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
			}
		}
		return errors.Join(errs...)
	}
}
