package launcher

import (
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// The command client (go-ipfs-cmds) syncs stdout when a command ends. When stdout is a
// regular file (`iptf cat <cid> > data.bin`), that fsync waits for every byte written to
// reach the disk: 60-70 ms for 32 MiB here, seconds for a large dataset, which no other tool
// writing to stdout makes its user wait for. The bytes therefore go through a pipe, which has
// nothing to sync, and are copied to the file as they come.

// pipeCopyBuffer is how much one read from the pipe passes on to the file at most.
const pipeCopyBuffer = 1 << 20

// pipeSize asks the kernel for a pipe that holds this much, so a writer of 1 MiB pieces
// rarely waits for the copier.
const pipeSize = 1 << 20

// unsyncedOutput points *stream, when it is a regular file, at a pipe whose bytes are copied
// to that file. The function it returns restores the stream once everything written has
// reached the file, and says why not when the copy failed and the command did not (see
// below); the caller reports that error.
func unsyncedOutput(stream **os.File) (finish func(commandFailed bool) error) {
	original := *stream
	if st, err := original.Stat(); err != nil || !st.Mode().IsRegular() {
		return func(bool) error { return nil }
	}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return func(bool) error { return nil }
	}
	// Named after the stream, so a failed write reads "write /dev/stdout: …", not "write |1: …".
	r, w := os.NewFile(uintptr(fds[0]), "|"+original.Name()), os.NewFile(uintptr(fds[1]), original.Name())
	growPipe(w)
	*stream = w
	var closing sync.Mutex // w's descriptor is replaced (below) only while it is still open
	closed := false
	copied := make(chan error, 1)
	go func() {
		buf := make([]byte, pipeCopyBuffer)
		_, err := io.CopyBuffer(onlyWriter{original}, onlyReader{r}, buf)
		if err != nil {
			// The file refused a write (a full disk). Put the file itself behind the pipe's
			// descriptor: the command's next write fails with that same error, which it
			// reports, and stops instead of streaming on into nothing. Closing the pipe
			// instead would fail that write as "broken pipe".
			closing.Lock()
			if !closed {
				_ = syscall.Dup3(int(original.Fd()), fds[1], syscall.O_CLOEXEC)
			}
			closing.Unlock()
			// A write already waiting on the full pipe completes into nothing; the pipe then
			// has no writer left and ends.
			_, _ = io.CopyBuffer(io.Discard, onlyReader{r}, buf)
		}
		_ = r.Close()
		copied <- err
	}()
	return func(commandFailed bool) error {
		*stream = original
		closing.Lock()
		closed = true
		_ = w.Close()
		closing.Unlock()
		err := <-copied
		if err != nil && !commandFailed { // the bytes it wrote last were lost unreported
			return fmt.Errorf("writing the output: %w", err)
		}
		return nil
	}
}

// growPipe enlarges the pipe's buffer where the kernel allows it (a smaller one still works).
func growPipe(f *os.File) {
	if raw, err := f.SyscallConn(); err == nil {
		_ = raw.Control(func(fd uintptr) {
			_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETPIPE_SZ, pipeSize)
		})
	}
}

// onlyWriter and onlyReader hide *os.File's ReadFrom and WriteTo, whose zero-copy paths do
// not apply to a pipe and would copy in 32 KiB pieces.
type onlyWriter struct{ io.Writer }
type onlyReader struct{ io.Reader }
