package protocol

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// go test ./protocol -update rewrites testdata/ from the values below.
var update = flag.Bool("update", false, "rewrite the golden fixtures in testdata/")

var (
	when   = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	meta   = `{"IpfsPath":"iptf://ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi","IpnsPath":""}`
	fileID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
	leafA  = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
	leafB  = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
)

// fileMap is a file of two spans: the first in a local block file, the second a subtree the
// node does not hold.
var fileMap = FileMap{Cid: fileID, Type: TypeFile, Size: 393216, Spans: []Span{
	{Offset: 0, Length: 262144, Cid: leafA, Local: true, File: "/home/u/.iptf/blocks/XY/CIQXY.data", FileOffset: 14},
	{Offset: 262144, Length: 131072, Cid: leafB, Local: false},
}}

// fixtures are representative answers, by file name in testdata/ (docs/protocol.md names each).
var fixtures = map[string]any{
	"stat.json":      Stat{Uri: "iptf://repo/root/data/train.tfrecord", Type: TypeFile, Size: 393216, Cid: fileID},
	"stat-meta.json": Stat{Uri: "iptf://meta/repo/root/data", Type: TypeFile, Size: uint64(len(meta))},
	"ls.json": Listing{Entries: []Entry{
		{Name: "train.tfrecord", Type: TypeFile, Size: 393216},
		{Name: "eval", Type: TypeDirectory, Size: 0},
	}},
	"glob.json":         Matches{Matches: []string{"iptf://repo/root/data/train.tfrecord", "iptf://repo/root/data/test.tfrecord"}},
	"open.json":         Opened{FileMap: fileMap},
	"open-known.json":   Opened{FileMap: FileMap{Cid: fileID, Type: TypeFile, Size: 393216}, Known: true},
	"open-inline.json":  Opened{FileMap: FileMap{Type: TypeFile, Size: uint64(len(meta)), Spans: []Span{}}, Inline: &meta},
	"blockmap.json":     fileMap,
	"write.json":        Written{Uri: "iptf://repo/root/data/train.tfrecord", Cid: fileID, Size: 393216},
	"write-queued.json": Written{Uri: "iptf://repo/root/data/train.tfrecord", Queued: true},
	"write-queued-next.json": Written{Uri: "iptf://repo/root/logs/train.csv", Queued: true,
		Next: &Staged{Uri: "iptf://repo/root/logs/train.csv", Path: "/home/u/.iptf/staging/next-07be3a", Size: 2490368,
			AfterQueued: true}},
	"write-publish.json": Written{Uri: "iptf://meta/repo/root/data", Cid: fileID,
		Name: "iptf://ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8"},
	"done.json":  Done{},
	"stage.json": Staged{Uri: "iptf://repo/root/data/train.tfrecord", Path: "/home/u/.iptf/staging/write-3f9a1c"},
	"stage-append.json": Staged{Uri: "iptf://repo/root/logs/train.csv", Path: "/home/u/.iptf/staging/write-77b0e2",
		Base: fileID, Size: 393216},
	"stage-append-queued.json": Staged{Uri: "iptf://repo/root/logs/train.csv", Path: "/home/u/.iptf/staging/write-9c41d5",
		Size: 1441792, AfterQueued: true},
	"writeback.json": HandledWrites{Writes: []FailedWrite{
		{Kind: KindWrite, Uri: "iptf://repo/root/ckpt/model.index", Staged: "/home/u/.iptf/staging/w-17", Why: "ResourceExhausted: no space left on the repo's disk", Code: "ResourceExhausted"},
	}},
	"status.json": Status{
		Repo: "/home/u/.iptf", ApiSocket: "/home/u/.iptf/api.sock", Pid: 4242,
		ID: "12D3KooWLk7TZuUr6NQmZmr9pQ5dFpJ6vBT9Zr6FTf6tUUzvmU9D", Online: true, OnDemand: true,
		IdleTimeout: "10m0s", IdleFor: "1.5s",
		DroppedPeers: map[string]DroppedPeer{
			"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo": {Time: when, Reason: "sent a block nobody asked for"},
		},
		QueuedWrites: 2,
		FailedWrites: []FailedWrite{
			{Kind: KindWrite, Uri: "iptf://repo/root/ckpt/model.index", Staged: "/home/u/.iptf/staging/w-17", Why: "ResourceExhausted: iptf://repo/root/ckpt/model.index: no space left on the repo's disk (write /home/u/.iptf/blocks/XY/CIQXY.data: no space left on device)", Code: "ResourceExhausted"},
			{Kind: KindMove, Uri: "iptf://repo/root/ckpt/a.tmp", Destination: "iptf://repo/root/ckpt/a", Why: "NotFound: iptf://repo/root/ckpt/a.tmp: file does not exist"},
			{Kind: KindDamaged, Staged: "/home/u/.iptf/writeback.damaged.jsonl", Why: "unreadable journal line"},
		},
		WritebackError:  "starting the write-back queue: open /home/u/.iptf/staging/writeback.jsonl.new: no space left on device",
		AbandonedWrites: []AbandonedWrite{{Path: "/home/u/.iptf/staging/w-3", Size: 1048576, Since: when}},
		ReflogKeeps:     &ReflogKeeps{Period: "90d", Cids: 12, Bytes: 734003200},
		Cache: &CacheStatus{Limit: 21474836480, LimitFrom: "IPTF_CACHE_MAX", Used: 9663676416, Kept: 1073741824,
			Evictable: 8589934592, Evicted: 2147483648, Rounds: 3, LastRound: when},
	},
	"reflog.json": ReflogEntries{Entries: []ReflogEntry{
		{N: 1, Time: when, Op: "read", Path: "iptf://repo/root/data/train.tfrecord", Cid: fileID, Size: 393216, Pid: 4100, Program: "python3 train.py"},
		{N: 2, Time: when.Add(time.Minute), Op: "write", Path: "iptf://repo/root/ckpt/model.index", Cid: leafA, Size: 262144, Pid: 4100, Program: "python3 train.py"},
	}},
	"reflog-show.json": ReflogEntry{N: 7, Time: when, Op: "write", Path: "iptf://repo/root/ckpt/model.index", Cid: leafA,
		Size: 262144, Pid: 4100, Program: "python3 train.py"},
	"cache.json": CacheStatus{Limit: 268435456, LimitFrom: "default: half the free disk and what the repo holds",
		Used: 300000000, Kept: 4096, Evictable: 241591910, Rounds: 1, LastRound: when},
	"reflog-expire.json": Expired{Removed: 3, Keeps: ReflogKeeps{Period: "90d", Cids: 9, Bytes: 524288}},
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFixturesMatchTheDeclaredTypes(t *testing.T) {
	for name, v := range fixtures {
		got := encode(t, v)
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./protocol -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the types produce (rerun with -update if the change is meant; then the plugin and Python decoders must follow):\n got: %s\nwant: %s", path, got, want)
		}
	}
}

func TestEveryFixtureIsDeclaredAndDocumented(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := fixtures[name]; !ok {
			t.Errorf("testdata/%s is no longer produced by any value: remove it", name)
		}
	}
	for name := range fixtures {
		if !strings.Contains(string(doc), "testdata/"+name) {
			t.Errorf("docs/protocol.md does not mention testdata/%s", name)
		}
	}
}

// Decoding a fixture strictly gives back the value: no field is lost or unknown.
func TestFixturesDecodeIntoTheirTypes(t *testing.T) {
	for name, v := range fixtures {
		want, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		ptr := newOf(v)
		dec := json.NewDecoder(bytes.NewReader(want))
		dec.DisallowUnknownFields()
		if err := dec.Decode(ptr); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := encode(t, ptr); !bytes.Equal(got, want) {
			t.Errorf("%s does not survive a round trip:\n got: %s\nwant: %s", name, got, want)
		}
	}
}

// newOf returns a pointer to a new zero value of v's type.
func newOf(v any) any { return reflect.New(reflect.TypeOf(v)).Interface() }
