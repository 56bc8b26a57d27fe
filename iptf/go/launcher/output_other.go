//go:build !linux

package launcher

import "os"

// unsyncedOutput leaves the stream as it is outside Linux (see output_linux.go): the command
// client syncs a regular file given as its output when the command ends, as kubo's does.
func unsyncedOutput(_ **os.File) (finish func(commandFailed bool) error) {
	return func(bool) error { return nil }
}
