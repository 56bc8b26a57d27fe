// StagedFile: a file of an iptf:// URI being written, through a staging file the node hands out.
#ifndef IPTF_CPP_STAGED_FILE_H_
#define IPTF_CPP_STAGED_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "node_api.h"
#include "readable_file.h"
#include "status.h"

namespace iptf {

// A file being written: appends go to a staging file in <repo>/staging/, which the node imports
// on sync before it returns; on flush it queues what was written so far, and on close it takes
// the file over, importing both in the background, as a local filesystem writes back its page
// cache. What the
// node already holds (the file reopened for appending, or pushed by an earlier flush) is named
// by its CID, the base, and never sent again: the node extends the base's DAG by the new bytes,
// so appends and flushes cost in proportion to what they add.
class StagedFile {
 public:
  // Starts writing uri: empty, or from its current content (append). The node hands out the
  // staging file (a spare whose pages are already allocated, or a new file) once uri can take
  // a file, so a read-only namespace, a missing parent or a directory is reported here. uri
  // keeps its content until the first flush or close, so a write that fails (a full disk)
  // never leaves it emptied.
  static Status Create(const std::string& uri, bool append, std::unique_ptr<StagedFile>* out);

  // A file dropped without Close keeps what was written, as a local file would.
  ~StagedFile() { (void)Close(); }

  const std::string& uri() const { return uri_; }
  uint64_t Tell() const { return size_; }

  Status Append(const char* data, size_t n);

  // Sync: puts the staged content at the URI before it returns, if it changed since the last
  // time (after the flushes still queued).
  Status Push();

  // Flush: hands the staged content so far to the node's write-back queue, as a local file's
  // flush hands its buffer to the page cache: readers of the URI see it (they wait for the
  // queue), and the writer goes on without waiting for the import. The file stays the writer's
  // (kept): what it writes next follows what the queue leaves at the URI.
  Status PushBack();

  // Hands the file over to the node, which puts it at the URI in the background. After a failed
  // write the staging file misses bytes the writer counts as written: the close reports that
  // failure again, and the URI keeps what it held (with the flushes queued before).
  Status Close();

 private:
  static constexpr size_t kBufferSize = 1 << 20;

  StagedFile(std::string uri, std::string path, int fd);

  // The node holds the content up to `size` as `cid`; the staging file's first byte is the
  // file's byte staged_from (where the staged bytes began, or the end of the base when opened
  // for appending).
  void StartAfter(const std::string& cid, uint64_t size, uint64_t staged_from);
  void StartAfter(const std::string& cid, uint64_t size);
  // The base is what the writes queued for the URI leave there, size bytes: the node takes it
  // once they are applied (and refuses the write if the file is not that size then).
  void StartAfterQueued(uint64_t size, uint64_t staged_from);
  void StartAfterQueued(uint64_t size);

  // What the node is to put at the URI: the base, then the staged bytes written since.
  api::StagedContent Content() const;

  Status CopyCurrent();

  Status CopyFrom(const ReadableFile& src);

  // Before a push: writes the buffered appends to the staging file and says whether anything
  // changed since the last push (a closed or failed file is an error).
  Status Buffered(bool* changed);

  Status FlushBuffer();

  // Writes every byte or marks the file failed (part of the bytes may have landed).
  Status WriteAll(const char* data, size_t n);

  const std::string uri_, path_;
  int fd_;
  uint64_t size_ = 0;   // the file's size so far, buffered bytes included
  std::string base_cid_;    // the content the node holds already ("" for none)
  bool after_queued_ = false;  // the base is what the queued writes leave (base_cid_ "")
  uint64_t base_size_ = 0;  // its size
  uint64_t start_ = 0;      // the file offset of the staging file's first byte
  bool dirty_ = false;  // changed since the last push
  bool handed_over_ = false;  // the node owns the staging file (it applies it in the background)
  bool flushes_queued_ = false;  // flushes of this file went to the write-back queue (kept)
  bool append_ = false;  // opened for appending: its close asks for the next append's file
  bool ahead_ = false;   // a next file: its bytes go at the end of whatever the URI holds then
  Status failed_ = Ok();      // the write to the staging file that failed, if one did
  std::string buf_;     // small appends gather here (TFRecordWriter makes three per record)
};

}  // namespace iptf

#endif  // IPTF_CPP_STAGED_FILE_H_
