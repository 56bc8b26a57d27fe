package fsapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// FuzzOperations drives every filesystem operation the node's RPC commands expose (the
// arguments of iptf/stat, ls, open, read, blockmap, mkdir, rm, cp, mv and glob) with arbitrary
// paths over a tree holding a file, a directory, a dag-cbor block and a block of an unknown
// codec. Whatever the path, an operation succeeds or fails with a classified error other than
// Internal, and returns within its deadline: a user's path never makes an InternalError or a hang.
//
// In a path, {file}, {dir}, {cbor} and {codec} stand for those CIDs, so that the fuzzer
// mutates around content that exists.
func FuzzOperations(f *testing.F) {
	for _, seed := range []string{
		"iptf://ipfs/{file}", "iptf://ipfs/{file}/child", "iptf://ipfs/{dir}/f", "iptf://ipfs/{dir}/absent",
		"iptf://ipfs/{cbor}", "iptf://ipfs/{cbor}/a", "iptf://ipfs/{codec}/x", "iptf://ipfs/notacid",
		"iptf://ipns/{file}", "iptf://ipns/example.org/x", "iptf://repo/root/", "iptf://repo/root/a/../b",
		"iptf://repo/root/d/f", "iptf://repo/root/f/child", "iptf://meta/repo/root/d", "iptf://meta/ipfs/{dir}",
		"iptf://repo/other", "iptf://ipfs/", "iptf://", "", "/ipfs/{dir}", "iptf://repo/root/\x00",
		"iptf://repo/root/" + strings.Repeat("n", 300), "iptf://ipfs/{dir}/*", "iptf://repo/root/[",
	} {
		f.Add(uint8(0), seed, "iptf://repo/root/copy", uint64(0), uint64(10))
	}
	f.Add(uint8(3), "iptf://ipfs/{file}", "", uint64(1<<63), uint64(1<<63))
	f.Add(uint8(7), "iptf://repo/root/d", "iptf://repo/root/d/inside", uint64(0), uint64(0))

	fs := testFS(f)
	ctx := context.Background()
	file := addBytes(f, fs, []byte("a file\n"))
	dir, err := fs.API.Unixfs().Add(ctx, files.NewMapDirectory(map[string]files.Node{
		"f": files.NewBytesFile([]byte("x"))}))
	if err != nil {
		f.Fatal(err)
	}
	names := strings.NewReplacer(
		"{file}", file.String(),
		"{dir}", dir.RootCid().String(),
		"{cbor}", putBlock(f, fs, cid.DagCBOR, mh.SHA2_256, []byte{0xa1, 0x61, 0x61, 0x01}).String(),
		"{codec}", putBlock(f, fs, 0x9999, mh.SHA2_256, []byte("?")).String(),
	)
	if err := fs.Mkdir(ctx, "iptf://repo/root/d", true); err != nil {
		f.Fatal(err)
	}
	who := Caller{Pid: 1, Program: "fuzz"}

	f.Fuzz(func(t *testing.T, op uint8, raw, other string, offset, length uint64) {
		raw, other = names.Replace(raw), names.Replace(other)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// An operation that ignores its deadline (a lock never released) stops the fuzzer
		// with this input instead of stalling it.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				panic(fmt.Sprintf("op %d on %q, %q: still running after 30 s", op%10, raw, other))
			}
		}()
		var err error
		switch op % 10 {
		case 0:
			_, err = fs.Stat(ctx, raw)
		case 1:
			_, err = fs.List(ctx, raw)
		case 2:
			_, err = fs.Open(ctx, raw, "", who)
		case 3:
			var r io.Reader
			if r, err = fs.Read(ctx, raw, offset, length%(1<<20), who); err == nil {
				_, err = io.Copy(io.Discard, r)
			}
		case 4:
			_, err = fs.BlockMap(ctx, raw)
		case 5:
			err = fs.Mkdir(ctx, raw, offset%2 == 0)
		case 6:
			err = fs.Remove(ctx, raw, []string{"file", "dir", "recursive", ""}[offset%4], who)
		case 7:
			_, err = fs.Copy(ctx, raw, other, who)
		case 8:
			err = fs.Move(ctx, raw, other)
		case 9:
			_, err = fs.Glob(ctx, raw)
		}
		if ctx.Err() != nil {
			t.Fatalf("op %d on %q, %q: no answer within its deadline", op%10, raw, other)
		}
		if err == nil {
			return
		}
		var classified *Error
		if !errors.As(err, &classified) {
			t.Fatalf("op %d on %q, %q: unclassified error %T: %v", op%10, raw, other, err, err)
		}
		if classified.Code == Internal {
			t.Fatalf("op %d on %q, %q: %v", op%10, raw, other, err)
		}
	})
}
