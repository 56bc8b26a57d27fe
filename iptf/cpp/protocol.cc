#include "protocol.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace iptf::protocol {
namespace {

using nlohmann::json;

constexpr char kDirectory[] = "directory";

// Parses body and runs decode on it, turning bad JSON or a missing or mistyped field into an
// error: the node and the plugin disagree, which no retry mends.
template <typename F>
Status Decode(const std::string& command, const std::string& body, F&& decode) {
  try {
    decode(json::parse(body));
  } catch (const std::exception& e) {
    return Error(TF_INTERNAL, "unexpected answer from the node to " + command + ": " + e.what());
  }
  return Ok();
}

}  // namespace

Status DecodeFileMap(const std::string& command, const std::string& body, FileMap* out) {
  bool is_dir = false;
  Status s = Decode(command, body, [&](const json& j) {
    const std::string type = j.at("Type").get<std::string>();
    if (type == kDirectory) {
      is_dir = true;
      return;
    }
    if (type != "file") throw std::runtime_error("not a file: " + type);
    out->cid = j.at("Cid").get<std::string>();
    out->size = j.at("Size").get<uint64_t>();
    out->spans.clear();
    for (const json& js : j.at("Spans")) {
      Span sp;
      sp.offset = js.at("Offset").get<uint64_t>();
      sp.length = js.at("Length").get<uint64_t>();
      sp.cid = js.at("Cid").get<std::string>();
      sp.local = js.at("Local").get<bool>();
      sp.file = js.value("File", "");
      sp.file_offset = js.value("FileOffset", uint64_t{0});
      out->spans.push_back(std::move(sp));
    }
    out->has_inline = j.contains("Inline") && j["Inline"].is_string();
    out->inline_data = out->has_inline ? j["Inline"].get<std::string>() : "";
    if (out->has_inline) {
      out->size = out->inline_data.size();
      return;
    }
    // The reader trusts the spans to tile the file: one after another from 0 to its size.
    uint64_t end = 0;
    for (const Span& sp : out->spans) {
      if (sp.offset != end || sp.length > out->size - end)
        throw std::runtime_error("spans do not tile the file's " + std::to_string(out->size) + " bytes");
      end += sp.length;
    }
    if (end != out->size) throw std::runtime_error("spans end at " + std::to_string(end) + " of " +
                                                   std::to_string(out->size) + " bytes");
  });
  if (s.ok() && is_dir) return Error(TF_FAILED_PRECONDITION, "is a directory");
  return s;
}

Status DecodeStat(const std::string& command, const std::string& body, PathInfo* out) {
  return Decode(command, body, [&](const json& j) {
    out->uri = j.at("Uri").get<std::string>();
    out->is_dir = j.at("Type").get<std::string>() == kDirectory;
    out->size = j.at("Size").get<uint64_t>();
    out->cid = j.at("Cid").get<std::string>();
  });
}

Status DecodeListing(const std::string& command, const std::string& body, std::vector<DirEntry>* out) {
  return Decode(command, body, [&](const json& j) {
    out->clear();
    for (const json& e : j.at("Entries"))
      out->push_back({e.at("Name").get<std::string>(), e.at("Type").get<std::string>() == kDirectory,
                      e.at("Size").get<uint64_t>()});
  });
}

Status DecodeMatches(const std::string& command, const std::string& body, std::vector<std::string>* out) {
  return Decode(command, body, [&](const json& j) { *out = j.at("Matches").get<std::vector<std::string>>(); });
}

static void StagedFromJSON(const json& j, Staged* out) {
  out->uri = j.at("Uri").get<std::string>();
  out->path = j.at("Path").get<std::string>();
  out->base = j.value("Base", std::string());
  out->size = j.value("Size", uint64_t{0});
  out->after_queued = j.value("AfterQueued", false);
}

Status DecodeWritten(const std::string& command, const std::string& body, Written* out) {
  return Decode(command, body, [&](const json& j) {
    out->uri = j.at("Uri").get<std::string>();
    out->cid = j.at("Cid").get<std::string>();
    out->size = j.at("Size").get<uint64_t>();
    out->queued = j.value("Queued", false);
    auto next = j.find("Next");
    out->has_next = next != j.end() && !next->is_null();
    if (out->has_next) StagedFromJSON(*next, &out->next);
  });
}

Status DecodeStaged(const std::string& command, const std::string& body, Staged* out) {
  return Decode(command, body, [&](const json& j) { StagedFromJSON(j, out); });
}

Status DecodeStatus(const std::string& command, const std::string& body, NodeStatus* out) {
  return Decode(command, body, [&](const json& j) {
    out->repo = j.at("Repo").get<std::string>();
    out->api_socket = j.at("ApiSocket").get<std::string>();
    out->pid = j.at("Pid").get<int>();
    out->on_demand = j.at("OnDemand").get<bool>();
  });
}

}  // namespace iptf::protocol
