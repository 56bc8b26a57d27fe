// The node's commands the plugin uses (kubo's `cat` and IPTF's `iptf/...`), typed.
// Paths are full iptf:// URIs: all path logic lives in the node.
#ifndef IPTF_CPP_NODE_API_H_
#define IPTF_CPP_NODE_API_H_

#include <cstdint>
#include <string>
#include <vector>

#include "protocol.h"
#include "status.h"

namespace iptf {

namespace api {

Status Stat(const std::string& uri, PathInfo* out);
Status List(const std::string& uri, std::vector<DirEntry>* out);
// Opens a file for reading; a directory is FailedPrecondition.
Status Open(const std::string& uri, FileMap* out);
// Maps the subtree iptf://ipfs/<cid>; offsets are relative to it.
Status BlockMap(const std::string& cid, FileMap* out);
// Reads exactly `length` bytes at `offset` of the block /ipfs/<cid> into out (kubo's cat).
Status Cat(const std::string& cid, uint64_t offset, uint64_t length, char* out);
// Bytes [offset, offset+length) of the file rooted at root_cid, fetched by the node, which
// also reads ahead for sequential readers (iptf/read).
Status Read(const std::string& root_cid, uint64_t offset, uint64_t length, char* out);
// Asks the node for a staging file to write uri's new content into (it checks that uri can
// take a file: writable, a directory as parent, no directory at it); for an appender, also what
// its bytes follow (Staged::base, size, after_queued).
Status Stage(const std::string& uri, bool append, Staged* out);
// What a writer hands the node: the content is `base`'s content (a CID; none when empty) or,
// with after_queued, the base_size bytes the queued writes leave at the URI, followed by bytes
// [offset, size) of the staged local file. A reused staging file can be longer than size: its
// tail is never read.
struct StagedContent {
  std::string file;
  uint64_t size = 0;
  std::string base;
  uint64_t offset = 0;
  bool after_queued = false;
  uint64_t base_size = 0;
  // file is a next file (Written::next): its bytes go after whatever the URI holds when the
  // write is queued, base_size being what it held at the writer's last write.
  bool ahead = false;
};
// Puts the staged content at uri before returning; nolog leaves the write out of the reflog.
Status Write(const std::string& uri, const StagedContent& staged, bool nolog, Written* out);
// Hands the staged content to the node, which puts it at uri in the background (every
// operation on uri waits for it). out->queued: the node queued it (else it applied it, and
// out->cid names the content). keep: a flush, the writer keeps writing the staged file, which
// stays its own; otherwise the node owns the file once it is queued.
// next: also ask for the staging file of the next append (out->next, when the node gives one).
Status WriteBack(const std::string& uri, const StagedContent& staged, bool keep, bool nolog, bool next,
                 Written* out);
Status Mkdir(const std::string& uri, bool parents);
// kind: "file", "dir" or "recursive".
Status Remove(const std::string& uri, const char* kind);
Status Move(const std::string& src, const std::string& dst);
Status Copy(const std::string& src, const std::string& dst);
Status Glob(const std::string& pattern, std::vector<std::string>* out);

}  // namespace api
}  // namespace iptf

#endif  // IPTF_CPP_NODE_API_H_
