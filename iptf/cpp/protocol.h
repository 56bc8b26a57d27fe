// The node's answers as the plugin reads them: the messages iptf/go/protocol declares and
// docs/protocol.md describes, decoded from their JSON. file_system_test.cc decodes the golden
// fixtures (iptf/go/protocol/testdata/) with these same functions.
#ifndef IPTF_CPP_PROTOCOL_H_
#define IPTF_CPP_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace iptf {

// A run of a file's bytes: in a local block file (when `file` is set), or to fetch by CID.
struct Span {
  uint64_t offset = 0;       // in the file
  uint64_t length = 0;
  std::string cid;           // the block, or the root of a subtree not stored locally
  bool local = false;        // the node has the bytes
  std::string file;          // block file holding them, when local and stored as a file
  uint64_t file_offset = 0;  // where the run starts inside `file`
};

// Where a file's bytes are: from iptf/open or iptf/blockmap.
struct FileMap {
  std::string cid;
  uint64_t size = 0;
  std::vector<Span> spans;  // in order, covering [0, size)
  bool has_inline = false;  // the whole content came with the map (iptf://meta/ files)
  std::string inline_data;
};

// iptf/stat's answer.
struct PathInfo {
  std::string uri;
  bool is_dir = false;
  uint64_t size = 0;
  std::string cid;
};

// One entry of iptf/ls's answer.
struct DirEntry {
  std::string name;
  bool is_dir = false;
  uint64_t size = 0;
};

// iptf/stage's answer: the local file to write a URI's new content into.
struct Staged {
  std::string uri;
  std::string path;  // a local file in the repo's staging directory
  // Asked for an appender: the bytes it appends follow `size` bytes, which are base's content
  // (a CID) or, with after_queued, what the writes still queued for uri leave there. Neither,
  // with size > 0: a file without a CID (iptf://meta/), which the appender copies.
  std::string base;
  uint64_t size = 0;
  bool after_queued = false;
};

// iptf/write's and iptf/cp's answer.
struct Written {
  std::string uri;
  std::string cid;
  uint64_t size = 0;
  bool queued = false;  // the node owns the staged file and applies it in the background
  // Asked with next=true: the staging file for the writer's next append to uri (after_queued),
  // a "next-" file the writer renames to a writer's name before it writes.
  bool has_next = false;
  Staged next;
};

// What the plugin reads of iptf/status's answer.
struct NodeStatus {
  std::string repo;
  std::string api_socket;  // "" when the API listens elsewhere than on a Unix socket
  int pid = 0;
  bool on_demand = false;
};

namespace protocol {

// Each decodes the JSON body of `command`'s answer; a missing or mistyped field is TF_INTERNAL
// ("unexpected answer from the node to <command>: ...").

// iptf/open or iptf/blockmap; a directory is TF_FAILED_PRECONDITION, another non-file Internal.
Status DecodeFileMap(const std::string& command, const std::string& body, FileMap* out);
Status DecodeStat(const std::string& command, const std::string& body, PathInfo* out);
Status DecodeListing(const std::string& command, const std::string& body, std::vector<DirEntry>* out);
Status DecodeMatches(const std::string& command, const std::string& body, std::vector<std::string>* out);
Status DecodeWritten(const std::string& command, const std::string& body, Written* out);
Status DecodeStaged(const std::string& command, const std::string& body, Staged* out);
Status DecodeStatus(const std::string& command, const std::string& body, NodeStatus* out);

}  // namespace protocol
}  // namespace iptf

#endif  // IPTF_CPP_PROTOCOL_H_
