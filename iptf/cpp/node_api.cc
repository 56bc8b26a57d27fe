#include "node_api.h"

#include <unistd.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "node_client.h"

namespace iptf::api {
namespace {

using client::Query;
using nlohmann::json;

// Runs a command whose answer is one JSON value.
Status CallJson(const std::string& command, const Query& query, json* out) {
  std::string body;
  if (Status s = client::Call(command, query, &body); !s.ok()) return s;
  try {
    *out = json::parse(body);
  } catch (const std::exception& e) {
    return Error(TF_INTERNAL, "unexpected answer from the node to " + command + ": " + e.what());
  }
  return Ok();
}

// Runs a command whose answer does not matter.
Status CallPlain(const std::string& command, const Query& query) {
  std::string body;
  return client::Call(command, query, &body);
}

// Decodes a JSON answer, turning a missing or mistyped field into an error.
template <typename F>
Status Decode(const std::string& command, F&& decode) {
  try {
    decode();
  } catch (const std::exception& e) {
    return Error(TF_INTERNAL, "unexpected answer from the node to " + command + ": " + e.what());
  }
  return Ok();
}

Status DecodeMap(const std::string& command, const json& j, FileMap* out) {
  return Decode(command, [&] {
    const std::string type = j.value("Type", "file");
    if (type != "file") throw std::runtime_error("not a file: " + type);
    out->cid = j.value("Cid", "");
    out->size = j.at("Size").get<uint64_t>();
    out->spans.clear();
    if (j.contains("Spans") && j["Spans"].is_array()) {
      for (const json& js : j["Spans"]) {
        Span s;
        s.offset = js.at("Offset").get<uint64_t>();
        s.length = js.at("Length").get<uint64_t>();
        s.cid = js.at("Cid").get<std::string>();
        s.local = js.value("Local", false);
        s.file = js.value("File", "");
        s.file_offset = js.value("FileOffset", uint64_t{0});
        out->spans.push_back(std::move(s));
      }
    }
    out->has_inline = j.contains("Inline") && j["Inline"].is_string();
    out->inline_data = out->has_inline ? j["Inline"].get<std::string>() : "";
    if (out->has_inline) out->size = out->inline_data.size();
  });
}

Query WithProcess(Query q) {
  q.emplace_back("pid", std::to_string(getpid()));
  q.emplace_back("program", client::ProgramName());
  return q;
}

}  // namespace

Status Stat(const std::string& uri, PathInfo* out) {
  json j;
  if (Status s = CallJson("iptf/stat", {{"arg", uri}}, &j); !s.ok()) return s;
  return Decode("iptf/stat", [&] {
    out->is_dir = j.at("Type").get<std::string>() == "directory";
    out->size = j.value("Size", uint64_t{0});
    out->cid = j.value("Cid", "");
  });
}

Status List(const std::string& uri, std::vector<DirEntry>* out) {
  json j;
  if (Status s = CallJson("iptf/ls", {{"arg", uri}}, &j); !s.ok()) return s;
  return Decode("iptf/ls", [&] {
    out->clear();
    const json& entries = j.at("Entries");
    if (entries.is_null()) return;
    for (const json& e : entries)
      out->push_back({e.at("Name").get<std::string>(), e.value("Type", "") == "directory",
                      e.value("Size", uint64_t{0})});
  });
}

Status Open(const std::string& uri, FileMap* out) {
  json j;
  if (Status s = CallJson("iptf/open", WithProcess({{"arg", uri}}), &j); !s.ok()) return s;
  if (j.is_object() && j.value("Type", "file") == "directory")
    return Error(TF_FAILED_PRECONDITION, "is a directory");
  return DecodeMap("iptf/open", j, out);
}

Status BlockMap(const std::string& cid, FileMap* out) {
  json j;
  if (Status s = CallJson("iptf/blockmap", {{"arg", "/ipfs/" + cid}}, &j); !s.ok()) return s;
  return DecodeMap("iptf/blockmap", j, out);
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
  return ReadBytes("iptf/read", "/ipfs/" + root_cid, offset, length, out);
}

// Importing takes time in proportion to size: allow 20 MiB/s beyond the usual timeout.
static client::CallOptions ImportOptions(uint64_t size) {
  client::CallOptions o;
  o.timeout = client::TimeoutSeconds() + static_cast<double>(size) / (20 << 20);
  o.node_timeout = false;
  return o;
}

Status Write(const std::string& uri, const std::string& staged_file, uint64_t size, bool record) {
  std::string body;
  auto params = WithProcess({{"arg", uri}, {"file", staged_file}, {"size", std::to_string(size)}});
  if (!record) params.push_back({"record", "false"});
  return client::Call("iptf/write", params, &body, ImportOptions(size));
}

Status WriteBack(const std::string& uri, const std::string& staged_file, uint64_t size, bool* queued) {
  *queued = false;
  std::string body;
  auto params = WithProcess({{"arg", uri}, {"file", staged_file}, {"size", std::to_string(size)}, {"queue", "true"}});
  if (Status s = client::Call("iptf/write", params, &body, ImportOptions(size)); !s.ok()) return s;
  return Decode("iptf/write", [&] { *queued = json::parse(body).value("Queued", false); });
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
  json j;
  if (Status s = CallJson("iptf/glob", {{"arg", pattern}}, &j); !s.ok()) return s;
  return Decode("iptf/glob", [&] {
    out->clear();
    const json& m = j.at("Matches");
    if (!m.is_null()) *out = m.get<std::vector<std::string>>();
  });
}

}  // namespace iptf::api
