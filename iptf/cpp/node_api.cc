#include "node_api.h"

#include <unistd.h>

#include <cstring>

#include "node_client.h"

namespace iptf::api {
namespace {

using client::Query;

// IPTF's commands take iptf:// URIs; kubo's own (cat) take /ipfs/ paths.
constexpr char kIpfsUri[] = "iptf://ipfs/";

// Runs a command whose answer is one JSON value, decoded by decode (protocol.h).
template <typename T>
Status CallDecoded(const std::string& command, const Query& query,
                   Status (*decode)(const std::string&, const std::string&, T*), T* out) {
  std::string body;
  if (Status s = client::Call(command, query, &body); !s.ok()) return s;
  return decode(command, body, out);
}

// Runs a command whose answer does not matter.
Status CallPlain(const std::string& command, const Query& query) {
  std::string body;
  return client::Call(command, query, &body);
}

Query WithProcess(Query q) {
  q.emplace_back("pid", std::to_string(getpid()));
  q.emplace_back("program", client::ProgramName());
  return q;
}

}  // namespace

Status Stat(const std::string& uri, PathInfo* out) {
  return CallDecoded("iptf/stat", {{"arg", uri}}, protocol::DecodeStat, out);
}

Status List(const std::string& uri, std::vector<DirEntry>* out) {
  return CallDecoded("iptf/ls", {{"arg", uri}}, protocol::DecodeListing, out);
}

Status Open(const std::string& uri, FileMap* out) {
  return CallDecoded("iptf/open", WithProcess({{"arg", uri}}), protocol::DecodeFileMap, out);
}

Status BlockMap(const std::string& cid, FileMap* out) {
  return CallDecoded("iptf/blockmap", {{"arg", kIpfsUri + cid}}, protocol::DecodeFileMap, out);
}

namespace {

// Calls a command that answers with raw bytes, into out (exactly length bytes expected).
Status ReadBytes(const char* command, const std::string& path, uint64_t offset, uint64_t length, char* out) {
  uint64_t got = 0;
  Query q = {{"arg", path}, {"offset", std::to_string(offset)}, {"length", std::to_string(length)}};
  Status s = client::Call(command, q, [&](const char* d, size_t n) {
    if (n > length - got) return Error(TF_INTERNAL, "the node sent more bytes than asked for");
    memcpy(out + got, d, n);
    got += n;
    return Ok();
  });
  if (!s.ok()) return s;
  if (got != length)
    return Error(TF_INTERNAL, path + ": the node sent " + std::to_string(got) + " of " + std::to_string(length) +
                                  " bytes");
  return Ok();
}

}  // namespace

Status Cat(const std::string& cid, uint64_t offset, uint64_t length, char* out) {
  return ReadBytes("cat", "/ipfs/" + cid, offset, length, out);
}

Status Read(const std::string& root_cid, uint64_t offset, uint64_t length, char* out) {
  return ReadBytes("iptf/read", kIpfsUri + root_cid, offset, length, out);
}

// Importing takes time in proportion to size: allow 20 MiB/s beyond the usual timeout.
static client::CallOptions ImportOptions(uint64_t size) {
  client::CallOptions o;
  o.timeout = client::TimeoutSeconds() + static_cast<double>(size) / (20 << 20);
  o.node_timeout = false;
  return o;
}

Status Stage(const std::string& uri, bool append, Staged* out) {
  std::string body;
  Query params = {{"arg", uri}};
  if (append) params.push_back({"append", "true"});
  if (Status s = client::Call("iptf/stage", params, &body); !s.ok()) return s;
  return protocol::DecodeStaged("iptf/stage", body, out);
}

static Query WriteParams(const std::string& uri, const StagedContent& staged) {
  auto params = WithProcess({{"arg", uri}, {"file", staged.file}, {"size", std::to_string(staged.size)}});
  if (!staged.base.empty()) {
    params.push_back({"base", staged.base});
    params.push_back({"offset", std::to_string(staged.offset)});
  } else if (staged.after_queued) {
    params.push_back({"after-queued", "true"});
    params.push_back({"base-size", std::to_string(staged.base_size)});
    params.push_back({"offset", std::to_string(staged.offset)});
    if (staged.ahead) params.push_back({"ahead", "true"});
  }
  return params;
}

Status Write(const std::string& uri, const StagedContent& staged, bool nolog, Written* out) {
  std::string body;
  auto params = WriteParams(uri, staged);
  if (nolog) params.push_back({"nolog", "true"});
  if (Status s = client::Call("iptf/write", params, &body, ImportOptions(staged.size - staged.offset)); !s.ok())
    return s;
  return protocol::DecodeWritten("iptf/write", body, out);
}

Status WriteBack(const std::string& uri, const StagedContent& staged, bool keep, bool nolog, bool next,
                 Written* out) {
  std::string body;
  auto params = WriteParams(uri, staged);
  params.push_back({"queue", "true"});
  if (keep) params.push_back({"keep", "true"});
  if (next) params.push_back({"next", "true"});
  if (nolog) params.push_back({"nolog", "true"});
  if (Status s = client::Call("iptf/write", params, &body, ImportOptions(staged.size - staged.offset)); !s.ok())
    return s;
  return protocol::DecodeWritten("iptf/write", body, out);
}

Status Mkdir(const std::string& uri, bool parents) {
  return CallPlain("iptf/mkdir", {{"arg", uri}, {"parents", parents ? "true" : "false"}});
}

Status Remove(const std::string& uri, const char* kind) {
  return CallPlain("iptf/rm", WithProcess({{"arg", uri}, {"kind", kind}}));
}

Status Move(const std::string& src, const std::string& dst) {
  return CallPlain("iptf/mv", {{"arg", src}, {"arg", dst}});
}

Status Copy(const std::string& src, const std::string& dst) {
  return CallPlain("iptf/cp", WithProcess({{"arg", src}, {"arg", dst}}));
}

Status Glob(const std::string& pattern, std::vector<std::string>* out) {
  return CallDecoded("iptf/glob", {{"arg", pattern}}, protocol::DecodeMatches, out);
}

}  // namespace iptf::api
