// ReadableFile: a file of an iptf:// URI opened for reading, read from the node's block files
// where they are local and through the node otherwise.
#ifndef IPTF_CPP_READABLE_FILE_H_
#define IPTF_CPP_READABLE_FILE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "protocol.h"
#include "status.h"

namespace iptf {

// A file opened for reading: its block map, refined as missing blocks are fetched.
class ReadableFile {
 public:
  static Status Open(const std::string& uri, std::unique_ptr<ReadableFile>* out);

  const std::string& uri() const { return uri_; }
  uint64_t Size() const { return Map()->size; }

  // Reads up to n bytes at offset into buf, setting *done; a short read at EOF is OutOfRange.
  Status Read(uint64_t offset, size_t n, char* buf, size_t* done) const;

 private:
  ReadableFile(std::string uri, std::shared_ptr<const FileMap> map);

  std::shared_ptr<const FileMap> Map() const;

  static const Span* Find(const FileMap& m, uint64_t pos);

  Status Reopen(std::shared_ptr<const FileMap>* m) const;

  // Gets bytes the block files cannot give: a local block without a file comes from `cat`;
  // missing blocks come through the node's iptf/read, which fetches them from peers (and the
  // next window for a sequential reader). len may run on past span into the spans after it,
  // none of them local (one request for them all). A subtree span then maps into smaller
  // spans, so later reads find fetched leaves locally.
  Status Fetch(const Span& span, uint64_t in_span, size_t len, char* out) const;

  static constexpr uint64_t kLargestLeaf = 1 << 20;  // kubo's largest default chunk

  // Replaces span (if still present) with the spans of its subtree.
  void Splice(const Span& span, const FileMap& sub) const;

  const std::string uri_;
  const bool growable_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<const FileMap> map_;
};

}  // namespace iptf

#endif  // IPTF_CPP_READABLE_FILE_H_
