//go:build linux

package launcher

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestOutputToAFileArrivesWholeWithNothingToSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.bin")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	stream := file
	finish := unsyncedOutput(&stream)
	if stream == file {
		t.Fatal("a regular file was left as the stream")
	}
	// What the command client does when it ends: on a pipe, fsync is refused at once.
	if err := stream.Sync(); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Sync of the stream: %v, want EINVAL", err)
	}
	want := make([]byte, 5<<20+123)
	_, _ = rand.Read(want)
	for rest := want; len(rest) > 0; {
		n := min(len(rest), 300_000)
		if _, err := stream.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := finish(false); err != nil {
		t.Fatal(err)
	}
	if stream != file {
		t.Fatal("the stream was not restored")
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the file holds %d bytes, not the %d written", len(got), len(want))
	}
}

func TestOutputThatIsNoFileStaysAsItIs(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	stream := w
	finish := unsyncedOutput(&stream)
	if stream != w {
		t.Fatal("a pipe was replaced")
	}
	if err := finish(false); err != nil {
		t.Fatal(err)
	}
}

// refusingFile is a regular file every write to fails (opened read-only), as on a full disk.
func refusingFile(t *testing.T) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.bin")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = file.Close() })
	return file
}

// writeUntilRefused writes to stream until a write fails, and returns that failure.
func writeUntilRefused(t *testing.T, stream *os.File) error {
	t.Helper()
	piece := make([]byte, 64<<10)
	for written := 0; written <= 1<<30; written += len(piece) {
		if _, err := stream.Write(piece); err != nil {
			return err
		}
	}
	t.Fatal("1 GiB written into a file that refuses writes, and no write failed")
	return nil
}

func TestAFileThatRefusesWritesFailsTheWriterAndIsReported(t *testing.T) {
	stream := refusingFile(t)
	finish := unsyncedOutput(&stream)
	if werr := writeUntilRefused(t, stream); !errors.Is(werr, syscall.EBADF) {
		t.Fatalf("the writer saw %v, want the file's own error (EBADF)", werr)
	}
	if err := finish(false); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("finish: %v, want the copy's error", err)
	}
}

func TestACopyErrorTheCommandReportedIsNotReportedTwice(t *testing.T) {
	stream := refusingFile(t)
	finish := unsyncedOutput(&stream)
	_ = writeUntilRefused(t, stream)
	if err := finish(true); err != nil {
		t.Fatalf("finish after the command failed: %v, want nil", err)
	}
}
