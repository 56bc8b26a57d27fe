#include "readable_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "node_api.h"

namespace iptf {
namespace {

bool HasPrefix(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Reads len bytes at off of a local block file; false when it cannot (e.g. removed by GC).
bool ReadBlockFile(const std::string& path, uint64_t off, size_t len, char* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t got = 0;
  while (got < len) {
    ssize_t r = pread(fd, out + got, len - got, static_cast<off_t>(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += r;
  }
  close(fd);
  return got == len;
}

}  // namespace

ReadableFile::ReadableFile(std::string uri, std::shared_ptr<const FileMap> map)
    : uri_(std::move(uri)), growable_(HasPrefix(uri_, "iptf://repo/")), map_(std::move(map)) {}

Status ReadableFile::Open(const std::string& uri, std::unique_ptr<ReadableFile>* out) {
  auto map = std::make_shared<FileMap>();
  if (Status s = api::Open(uri, map.get()); !s.ok()) return s;
  out->reset(new ReadableFile(uri, std::move(map)));
  return Ok();
}

Status ReadableFile::Read(uint64_t offset, size_t n, char* buf, size_t* done) const {
  *done = 0;
  std::shared_ptr<const FileMap> m = Map();
  bool reopened = false;
  while (*done < n) {
    const uint64_t pos = offset + *done;
    char* dst = buf + *done;
    if (pos >= m->size) {
      // Files in the repo may grow while open (TensorBoard polls event files): look again.
      if (growable_ && !reopened) {
        reopened = true;
        if (Status s = Reopen(&m); !s.ok()) return s;
        continue;
      }
      break;
    }
    if (m->has_inline) {
      size_t len = static_cast<size_t>(std::min<uint64_t>(n - *done, m->size - pos));
      memcpy(dst, m->inline_data.data() + pos, len);
      *done += len;
      continue;
    }
    const Span* span = Find(*m, pos);
    if (span == nullptr)
      return Error(TF_INTERNAL, "the node's block map has no block at offset " + std::to_string(pos));
    const uint64_t in_span = pos - span->offset;
    size_t len = static_cast<size_t>(std::min<uint64_t>(n - *done, span->length - in_span));
    if (!span->local && span->length <= kLargestLeaf && !m->cid.empty()) {
      // The blocks after it in this read that the node does not have either come in the same
      // request: one round trip to the node per read, not one per 256 KiB block.
      const Span* const end = m->spans.data() + m->spans.size();
      for (const Span* next = span + 1; next != end && *done + len < n; ++next) {
        if (next->local || next->offset != pos + len || next->length > kLargestLeaf) break;
        len += static_cast<size_t>(std::min<uint64_t>(n - *done - len, next->length));
      }
    }
    if (span->file.empty() || !ReadBlockFile(span->file, span->file_offset + in_span, len, dst)) {
      if (Status s = Fetch(*span, in_span, len, dst); !s.ok()) return s;
      m = Map();  // the fetch may have refined the map
    }
    *done += len;
  }
  return *done < n ? Error(TF_OUT_OF_RANGE, "read past the end of the file") : Ok();
}

std::shared_ptr<const FileMap> ReadableFile::Map() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_;
}

const Span* ReadableFile::Find(const FileMap& m, uint64_t pos) {
  auto it = std::upper_bound(m.spans.begin(), m.spans.end(), pos,
                             [](uint64_t p, const Span& s) { return p < s.offset; });
  if (it == m.spans.begin()) return nullptr;
  --it;
  return pos < it->offset + it->length ? &*it : nullptr;
}

Status ReadableFile::Reopen(std::shared_ptr<const FileMap>* m) const {
  auto fresh = std::make_shared<FileMap>();
  if (Status s = api::Open(uri_, fresh.get()); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  map_ = fresh;
  *m = map_;
  return Ok();
}

Status ReadableFile::Fetch(const Span& span, uint64_t in_span, size_t len, char* out) const {
  if (span.local) return api::Cat(span.cid, in_span, len, out);
  const std::string root = Map()->cid;
  Status s = root.empty() ? api::Read(span.cid, in_span, len, out)
                          : api::Read(root, span.offset + in_span, len, out);
  if (!s.ok()) return s;
  if (span.length > kLargestLeaf) {
    FileMap sub;
    if (api::BlockMap(span.cid, &sub).ok() && sub.size == span.length) Splice(span, sub);
  }
  return Ok();
}

void ReadableFile::Splice(const Span& span, const FileMap& sub) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto& spans = map_->spans;
  auto it = std::find_if(spans.begin(), spans.end(), [&](const Span& s) {
    return s.offset == span.offset && s.length == span.length && s.cid == span.cid && !s.local;
  });
  if (it == spans.end()) return;
  auto next = std::make_shared<FileMap>(*map_);
  size_t at = it - spans.begin();
  std::vector<Span> inner = sub.spans;
  for (Span& s : inner) s.offset += span.offset;
  next->spans.erase(next->spans.begin() + at);
  next->spans.insert(next->spans.begin() + at, inner.begin(), inner.end());
  map_ = std::move(next);
}

}  // namespace iptf
