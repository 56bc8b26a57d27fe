// Package protocol declares every message the node's IPTF commands (/api/v0/iptf/... and
// /api/v0/reflog...) send to their clients: the TensorFlow plugin (iptf/cpp/protocol.cc) and
// the Python package (iptf/python/iptf/protocol.py). docs/protocol.md describes the commands;
// testdata/*.json are golden answers that the tests of all three sides decode.
//
// Every field has an explicit JSON name in CamelCase, and every path in a message is an
// iptf:// URI, except the node's local files (Span.File, AbandonedWrite.Path, FailedWrite.Staged).
package protocol

import "time"

// Types of what stands at a path (Stat.Type, Entry.Type, FileMap.Type).
const (
	TypeFile      = "file"
	TypeDirectory = "directory"
	TypeSymlink   = "symlink"
)

// Span is a run of a file's bytes held in one block, or a subtree not stored locally.
type Span struct {
	Offset     uint64 `json:"Offset"`               // offset of the run in the file
	Length     uint64 `json:"Length"`               // length of the run
	Cid        string `json:"Cid"`                  // block (or subtree root) holding the run
	Local      bool   `json:"Local"`                // whether the bytes are in the local blockstore
	File       string `json:"File,omitempty"`       // block file holding the run, when Local and stored as a file
	FileOffset uint64 `json:"FileOffset,omitempty"` // offset of the run inside File
}

// FileMap describes one UnixFS node: its type and size and, for a file, its spans in order
// (iptf/blockmap's answer).
type FileMap struct {
	Cid   string `json:"Cid"`
	Type  string `json:"Type"` // TypeFile, TypeDirectory or TypeSymlink
	Size  uint64 `json:"Size"`
	Spans []Span `json:"Spans"` // a file's spans in order (empty for an empty file); null for other types
}

// Opened is iptf/open's answer: where a file's bytes are or, for an iptf://meta/ file
// (Inline set), the bytes themselves. Known: the file is the CID the caller said it holds the
// map of (iptf/open's known option), and Spans are left out (null).
type Opened struct {
	FileMap
	Inline *string `json:"Inline,omitempty"`
	Known  bool    `json:"Known,omitempty"`
}

// Stat is iptf/stat's answer.
type Stat struct {
	Uri  string `json:"Uri"`
	Type string `json:"Type"` // TypeFile or TypeDirectory
	Size uint64 `json:"Size"`
	Cid  string `json:"Cid"` // "" for an iptf://meta/ file, which has no block
}

// Entry is one name in a directory listing.
type Entry struct {
	Name string `json:"Name"`
	Type string `json:"Type"` // TypeFile or TypeDirectory
	Size uint64 `json:"Size"`
}

// Listing is iptf/ls's answer: a directory's entries (never null).
type Listing struct {
	Entries []Entry `json:"Entries"`
}

// Matches is iptf/glob's answer: the URIs a pattern matched (never null).
type Matches struct {
	Matches []string `json:"Matches"`
}

// Written is the answer of iptf/write and iptf/cp: what now stands at the URI.
type Written struct {
	Uri  string `json:"Uri"`
	Cid  string `json:"Cid"`            // "" while Queued
	Size uint64 `json:"Size"`           // 0 while Queued
	Name string `json:"Name,omitempty"` // the iptf://ipns/ URI, for a write to iptf://meta/ that publishes
	// Queued: the node owns the staged file and puts it in the tree in the background; Cid and
	// Size are known once it is applied.
	Queued bool `json:"Queued,omitempty"`
	// Next, for a write asked with next=true that was queued: a staging file for the writer's
	// next append to the URI, following what this write leaves there (AfterQueued). The writer
	// renames it to a writer's name before it writes (a next file nobody takes is a spare again).
	Next *Staged `json:"Next,omitempty"`
}

// Staged is iptf/stage's answer: a local file handed to a writer, who overwrites it from its
// start and then sends iptf/write the URI, this path and the number of bytes written. Asked
// with append=true, it also says what the appended bytes follow: Size bytes, which are Base's
// content (a CID), or, with AfterQueued, what the writes still queued for the URI leave there.
// Neither (Size > 0) is a file without a CID (an iptf://meta/ file): the appender copies it.
type Staged struct {
	Uri         string `json:"Uri"`
	Path        string `json:"Path"` // the local staging file (not a URI)
	Base        string `json:"Base,omitempty"`
	Size        uint64 `json:"Size,omitempty"`
	AfterQueued bool   `json:"AfterQueued,omitempty"`
}

// Done is the empty answer of a command that only changes things (iptf/mkdir, rm, mv).
type Done struct{}

// Status is iptf/status's answer: the running node.
type Status struct {
	Repo        string `json:"Repo"`
	ApiSocket   string `json:"ApiSocket"` // the Unix socket the node's RPC API listens on ("" for another kind)
	Pid         int    `json:"Pid"`
	ID          string `json:"ID"`
	Online      bool   `json:"Online"`
	OnDemand    bool   `json:"OnDemand"`              // started on demand, so it stops when idle
	IdleTimeout string `json:"IdleTimeout,omitempty"` // idle time after which an on-demand node stops
	IdleFor     string `json:"IdleFor"`               // time since the last command
	// DroppedPeers are peers disconnected for sending bad blocks, by peer ID.
	DroppedPeers map[string]DroppedPeer `json:"DroppedPeers,omitempty"`
	// QueuedWrites is how many closed files (and renames of them) wait to enter the tree.
	QueuedWrites int `json:"QueuedWrites"`
	// FailedWrites are queued changes that could not be applied (their bytes are kept).
	FailedWrites []FailedWrite `json:"FailedWrites,omitempty"`
	// WritebackError says why the write-back queue could not start (a full disk, say): until
	// it does, the failed and queued writes a stopped node left are not known.
	WritebackError string `json:"WritebackError,omitempty"`
	// AbandonedWrites are staging files whose writer ended before closing them.
	AbandonedWrites []AbandonedWrite `json:"AbandonedWrites,omitempty"`
	// ReflogKeeps is what garbage collection keeps because the reflog names it.
	ReflogKeeps *ReflogKeeps `json:"ReflogKeeps,omitempty"`
	// Cache is the cache's limit and use, as of its last round.
	Cache *CacheStatus `json:"Cache,omitempty"`
}

// CacheStatus is the cache of fetched content (iptf/cache's answer, and Status.Cache): the
// limit on evictable content, and what the repo holds. Kept and Evictable are as of the
// round at LastRound (iptf/cache makes one without evicting).
type CacheStatus struct {
	Limit     uint64    `json:"Limit"`
	LimitFrom string    `json:"LimitFrom"` // IPTF_CACHE_MAX, the config key, or how the default came
	Used      uint64    `json:"Used"`      // bytes of the repo's datastore
	Kept      uint64    `json:"Kept"`      // bytes of blocks pinned, in the writable tree or kept by the reflog
	Evictable uint64    `json:"Evictable"` // bytes of the other blocks
	Evicted   uint64    `json:"Evicted"`   // bytes evicted since the node started
	Rounds    int       `json:"Rounds"`    // eviction rounds since the node started
	LastRound time.Time `json:"LastRound,omitzero"`
	Error     string    `json:"Error,omitempty"` // why the cache is off (its limit could not be read)
}

// DroppedPeer says why and when a peer was dropped.
type DroppedPeer struct {
	Time   time.Time `json:"Time"`
	Reason string    `json:"Reason"`
}

// Kinds of FailedWrite.
const (
	KindWrite   = "write"                 // putting a closed file in the tree
	KindMove    = "move"                  // renaming a queued file
	KindDamaged = "damaged journal entry" // a journal line that could not be read (kept in Staged)
)

// FailedWrite is a queued change that could not be applied.
type FailedWrite struct {
	Kind        string `json:"Kind"`                  // KindWrite, KindMove or KindDamaged
	Uri         string `json:"Uri,omitempty"`         // the iptf://repo/root/ URI changed
	Destination string `json:"Destination,omitempty"` // a move's destination URI
	Staged      string `json:"Staged,omitempty"`      // local file keeping the bytes (or the damaged lines)
	Why         string `json:"Why"`
	Code        string `json:"Code,omitempty"` // the failure's error class (ResourceExhausted for a full disk), when known
	// Superseded: the URI was written or removed again since, so the failure no longer stands for
	// its content; the bytes are kept until the failure is discarded.
	Superseded bool `json:"Superseded,omitempty"`
}

// HandledWrites is the answer of writeback retry and writeback discard: the failed writes
// they queued again or dropped (never null).
type HandledWrites struct {
	Writes []FailedWrite `json:"Writes"`
}

// AbandonedWrite is a staging file whose writer ended (a crash, a kill) before closing it.
type AbandonedWrite struct {
	Path  string    `json:"Path"` // the local staging file keeping the bytes
	Size  int64     `json:"Size"`
	Since time.Time `json:"Since"` // when it was last written
}

// ReflogKeeps says what the reflog keeps through garbage collection.
type ReflogKeeps struct {
	Period string `json:"Period"` // the retention period
	Cids   int    `json:"Cids"`   // distinct CIDs named by entries younger than the period
	Bytes  uint64 `json:"Bytes"`  // their sizes as recorded
}

// ReflogEntry is one read or write of an iptf:// file (reflog show's answer).
type ReflogEntry struct {
	N       int       `json:"N"` // numbers entries from 1 in the order they were written
	Time    time.Time `json:"Time"`
	Op      string    `json:"Op"`   // "read", "write", ...
	Path    string    `json:"Path"` // iptf:// URI
	Cid     string    `json:"Cid"`
	Size    uint64    `json:"Size"`
	Pid     int       `json:"Pid"`
	Program string    `json:"Program"`
	To      string    `json:"To,omitempty"` // a move's destination URI
}

// ReflogEntries is reflog's answer (never null).
type ReflogEntries struct {
	Entries []ReflogEntry `json:"Entries"`
}

// Expired is reflog expire's answer.
type Expired struct {
	Removed int         `json:"Removed"` // entries removed
	Keeps   ReflogKeeps `json:"Keeps"`   // what the reflog keeps now
}
