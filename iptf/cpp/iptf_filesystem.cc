// TensorFlow filesystem plugin for the `iptf` scheme: a thin client of the IPTF node.
//
// Every path is sent to the node as the full URI (iptf://ipfs/<cid>/..., iptf://repo/...);
// the node resolves it. Reads come straight from the node's block files when they are
// local (fetching the rest with `cat`); writes are staged in a local file and handed to the
// node on flush, sync and close.
//
// Sections follow TensorFlow's C API: random-access file, writable file, read-only memory
// region, filesystem; then the ops-table filler, TF_InitPlugin and self-registration.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "node_api.h"
#include "node_client.h"
#include "status.h"
#include "version_guard.h"
#include "tensorflow/c/c_api.h"
#include "tensorflow/c/experimental/filesystem/filesystem_interface.h"
#include "tensorflow/c/tf_status.h"

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

// A file opened for reading: its block map, refined as missing blocks are fetched.
class ReadableFile {
 public:
  static Status Open(const std::string& uri, std::unique_ptr<ReadableFile>* out) {
    auto map = std::make_shared<FileMap>();
    if (Status s = api::Open(uri, map.get()); !s.ok()) return s;
    out->reset(new ReadableFile(uri, std::move(map)));
    return Ok();
  }

  const std::string& uri() const { return uri_; }
  uint64_t Size() const { return Map()->size; }

  // Reads up to n bytes at offset into buf, setting *done; a short read at EOF is OutOfRange.
  Status Read(uint64_t offset, size_t n, char* buf, size_t* done) const {
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
      const size_t len = static_cast<size_t>(std::min<uint64_t>(n - *done, span->length - in_span));
      if (span->file.empty() || !ReadBlockFile(span->file, span->file_offset + in_span, len, dst)) {
        if (Status s = Fetch(*span, in_span, len, dst); !s.ok()) return s;
        m = Map();  // the fetch may have refined the map
      }
      *done += len;
    }
    return *done < n ? Error(TF_OUT_OF_RANGE, "read past the end of the file") : Ok();
  }

 private:
  ReadableFile(std::string uri, std::shared_ptr<const FileMap> map)
      : uri_(std::move(uri)), growable_(HasPrefix(uri_, "iptf://repo/")), map_(std::move(map)) {}

  std::shared_ptr<const FileMap> Map() const {
    std::lock_guard<std::mutex> lock(mu_);
    return map_;
  }

  static const Span* Find(const FileMap& m, uint64_t pos) {
    auto it = std::upper_bound(m.spans.begin(), m.spans.end(), pos,
                               [](uint64_t p, const Span& s) { return p < s.offset; });
    if (it == m.spans.begin()) return nullptr;
    --it;
    return pos < it->offset + it->length ? &*it : nullptr;
  }

  Status Reopen(std::shared_ptr<const FileMap>* m) const {
    auto fresh = std::make_shared<FileMap>();
    if (Status s = api::Open(uri_, fresh.get()); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    map_ = fresh;
    *m = map_;
    return Ok();
  }

  // Gets bytes the block files cannot give: a local block without a file comes from `cat`;
  // missing blocks come through the node's iptf/read, which fetches them from peers (and the
  // next window for a sequential reader). A subtree span then maps into smaller spans, so
  // later reads find fetched leaves locally.
  Status Fetch(const Span& span, uint64_t in_span, size_t len, char* out) const {
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

  static constexpr uint64_t kLargestLeaf = 1 << 20;  // kubo's largest default chunk

  // Replaces span (if still present) with the spans of its subtree.
  void Splice(const Span& span, const FileMap& sub) const {
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

  const std::string uri_;
  const bool growable_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<const FileMap> map_;
};

// A file being written: appends go to a staging file in <repo>/staging/, which the node
// imports on flush and sync before they return; on close the node takes the file over and
// imports it in the background, as a local filesystem writes back its page cache. What the
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
  static Status Create(const std::string& uri, bool append, std::unique_ptr<StagedFile>* out) {
    Staged staged;
    if (Status s = api::Stage(uri, append, &staged); !s.ok()) return s;
    const int fd = open(staged.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      const std::string why = strerror(errno);
      unlink(staged.path.c_str());
      return Error(TF_INTERNAL, "cannot open the staging file " + staged.path + ": " + why);
    }
    std::unique_ptr<StagedFile> f(new StagedFile(uri, staged.path, fd));
    f->dirty_ = true;  // even a file closed with no byte written is created
    if (staged.after_queued) {
      f->StartAfterQueued(staged.size);  // the file's last write is still queued: follow it
    } else if (!staged.base.empty()) {
      f->StartAfter(staged.base, staged.size);
    } else if (staged.size > 0) {
      if (Status s = f->CopyCurrent(); !s.ok()) return s;  // an iptf://meta/ file has no CID: copy its bytes
    }
    *out = std::move(f);
    return Ok();
  }

  // A file dropped without Close keeps what was written, as a local file would.
  ~StagedFile() { (void)Close(); }

  const std::string& uri() const { return uri_; }
  uint64_t Tell() const { return size_; }

  Status Append(const char* data, size_t n) {
    if (fd_ < 0) return Error(TF_FAILED_PRECONDITION, "file already closed");
    if (!failed_.ok()) return failed_;
    if (n == 0) return Ok();
    dirty_ = true;
    size_ += n;
    if (buf_.size() + n <= kBufferSize) {
      buf_.append(data, n);
      return Ok();
    }
    if (Status s = FlushBuffer(); !s.ok()) return s;
    if (n >= kBufferSize) return WriteAll(data, n);
    buf_.append(data, n);
    return Ok();
  }

  // Sync: puts the staged content at the URI before it returns, if it changed since the last
  // time (after the flushes still queued).
  Status Push() {
    if (fd_ < 0) return Error(TF_FAILED_PRECONDITION, "file already closed");
    if (!failed_.ok()) return failed_;
    if (Status s = FlushBuffer(); !s.ok()) return s;
    if (!dirty_) return Ok();
    Written written;
    if (Status s = api::Write(uri_, Content(), /*nolog=*/false, &written); !s.ok()) return s;
    StartAfter(written.cid, size_, /*staged_from=*/start_);
    dirty_ = false;
    return Ok();
  }

  // Flush: hands the staged content so far to the node's write-back queue, as a local file's
  // flush hands its buffer to the page cache: readers of the URI see it (they wait for the
  // queue), and the writer goes on without waiting for the import. The file stays the writer's
  // (kept): what it writes next follows what the queue leaves at the URI.
  Status PushBack() {
    if (fd_ < 0) return Error(TF_FAILED_PRECONDITION, "file already closed");
    if (!failed_.ok()) return failed_;
    if (Status s = FlushBuffer(); !s.ok()) return s;
    if (!dirty_) return Ok();
    Written written;
    if (Status s = api::WriteBack(uri_, Content(), /*keep=*/true, /*nolog=*/false, &written); !s.ok()) return s;
    if (written.queued) {
      StartAfterQueued(size_, /*staged_from=*/start_);
      flushes_queued_ = true;
    } else {
      StartAfter(written.cid, size_, /*staged_from=*/start_);  // the node imported it at once
    }
    dirty_ = false;
    return Ok();
  }

  // Hands the file over to the node, which puts it at the URI in the background. After a failed
  // write the staging file misses bytes the writer counts as written: the close reports that
  // failure again, and the URI keeps what it held (with the flushes queued before).
  Status Close() {
    if (fd_ < 0) return Ok();
    Status s = failed_.ok() ? FlushBuffer() : failed_;
    // With flushes still queued (they read this file) the close hands the file over even when
    // nothing was written since, so that the queue, not the writer, lets it go.
    if (s.ok() && (dirty_ || flushes_queued_)) {
      Written written;
      s = api::WriteBack(uri_, Content(), /*keep=*/false, /*nolog=*/!dirty_, &written);
      handed_over_ = s.ok() && written.queued;
    }
    close(fd_);
    fd_ = -1;
    // A flush still queued may read the file: it is left for the node's sweep of dead writers.
    if (!handed_over_ && !(flushes_queued_ && !s.ok())) unlink(path_.c_str());
    return s;
  }

 private:
  static constexpr size_t kBufferSize = 1 << 20;

  StagedFile(std::string uri, std::string path, int fd) : uri_(std::move(uri)), path_(std::move(path)), fd_(fd) {
    buf_.reserve(kBufferSize);
  }

  // The node holds the content up to `size` as `cid`; the staging file's first byte is the
  // file's byte staged_from (where the staged bytes began, or the end of the base when opened
  // for appending).
  void StartAfter(const std::string& cid, uint64_t size, uint64_t staged_from) {
    base_cid_ = cid;
    base_size_ = size;
    start_ = staged_from;
    after_queued_ = false;
  }
  void StartAfter(const std::string& cid, uint64_t size) {
    StartAfter(cid, size, size);
    size_ = size;
  }
  // The base is what the writes queued for the URI leave there, size bytes: the node takes it
  // once they are applied (and refuses the write if the file is not that size then).
  void StartAfterQueued(uint64_t size, uint64_t staged_from) {
    StartAfter("", size, staged_from);
    after_queued_ = true;
  }
  void StartAfterQueued(uint64_t size) {
    StartAfterQueued(size, size);
    size_ = size;
  }

  // What the node is to put at the URI: the base, then the staged bytes written since.
  api::StagedContent Content() const {
    return {path_, size_ - start_, base_cid_, base_size_ - start_, after_queued_, base_size_};
  }

  Status CopyCurrent() {
    std::unique_ptr<ReadableFile> current;
    if (Status s = ReadableFile::Open(uri_, &current); !s.ok()) return s;
    return CopyFrom(*current);
  }

  Status CopyFrom(const ReadableFile& src) {
    const uint64_t size = src.Size();
    std::unique_ptr<char[]> chunk(new char[kBufferSize]);
    for (uint64_t off = 0; off < size;) {
      size_t done = 0;
      Status s = src.Read(off, static_cast<size_t>(std::min<uint64_t>(kBufferSize, size - off)), chunk.get(), &done);
      if (!s.ok() && s.code != TF_OUT_OF_RANGE) return s;
      if (done == 0) break;
      if (Status w = WriteAll(chunk.get(), done); !w.ok()) return w;
      off += done;
      size_ += done;
    }
    return Ok();
  }

  Status FlushBuffer() {
    Status s = WriteAll(buf_.data(), buf_.size());
    buf_.clear();
    return s;
  }

  // Writes every byte or marks the file failed (part of the bytes may have landed).
  Status WriteAll(const char* data, size_t n) {
    while (n > 0) {
      ssize_t w = write(fd_, data, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == ENOSPC || errno == EDQUOT))
        return failed_ = Error(TF_RESOURCE_EXHAUSTED,
                               "no space left on the repo's disk for " + uri_ + " (staging file " + path_ + ")");
      if (w < 0) return failed_ = Error(TF_INTERNAL, "writing the staging file " + path_ + ": " + strerror(errno));
      data += w;
      n -= w;
    }
    return Ok();
  }

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
  Status failed_ = Ok();      // the write to the staging file that failed, if one did
  std::string buf_;     // small appends gather here (TFRecordWriter makes three per record)
};

// A whole file in memory.
struct Region {
  void* data = nullptr;
  uint64_t length = 0;
};

}  // namespace

// SECTION 1. Random-access file -------------------------------------------------------------
namespace tf_random_access_file {

static void Cleanup(TF_RandomAccessFile* file) { delete static_cast<ReadableFile*>(file->plugin_file); }

static int64_t Read(const TF_RandomAccessFile* file, uint64_t offset, size_t n, char* buffer,
                    TF_Status* status) {
  const ReadableFile* f = static_cast<const ReadableFile*>(file->plugin_file);
  size_t done = 0;
  Status s = f->Read(offset, n, buffer, &done);
  Set(status, s, f->uri());
  return s.ok() || s.code == TF_OUT_OF_RANGE ? static_cast<int64_t>(done) : -1;
}

}  // namespace tf_random_access_file

// SECTION 2. Writable file ------------------------------------------------------------------
namespace tf_writable_file {

static StagedFile* File(const TF_WritableFile* file) { return static_cast<StagedFile*>(file->plugin_file); }

static void Cleanup(TF_WritableFile* file) { delete File(file); }

static void Append(const TF_WritableFile* file, const char* buffer, size_t n, TF_Status* status) {
  Set(status, File(file)->Append(buffer, n), File(file)->uri());
}

static int64_t Tell(const TF_WritableFile* file, TF_Status* status) {
  TF_SetStatus(status, TF_OK, "");
  return static_cast<int64_t>(File(file)->Tell());
}

static void Flush(const TF_WritableFile* file, TF_Status* status) {
  Set(status, File(file)->PushBack(), File(file)->uri());
}

static void Sync(const TF_WritableFile* file, TF_Status* status) {
  Set(status, File(file)->Push(), File(file)->uri());
}

static void Close(const TF_WritableFile* file, TF_Status* status) {
  Set(status, File(file)->Close(), File(file)->uri());
}

}  // namespace tf_writable_file

// SECTION 3. Read-only memory region --------------------------------------------------------
namespace tf_read_only_memory_region {

static void Cleanup(TF_ReadOnlyMemoryRegion* region) {
  Region* r = static_cast<Region*>(region->plugin_memory_region);
  free(r->data);
  delete r;
}

static const void* Data(const TF_ReadOnlyMemoryRegion* region) {
  return static_cast<Region*>(region->plugin_memory_region)->data;
}

static uint64_t Length(const TF_ReadOnlyMemoryRegion* region) {
  return static_cast<Region*>(region->plugin_memory_region)->length;
}

}  // namespace tf_read_only_memory_region

// SECTION 4. Filesystem ---------------------------------------------------------------------
namespace tf_filesystem {

static void Init(TF_Filesystem* filesystem, TF_Status* status) {
  filesystem->plugin_filesystem = nullptr;  // all state is the node client's, created lazily
  TF_SetStatus(status, TF_OK, "");
}

static void Cleanup(TF_Filesystem* filesystem) {}

static void NewRandomAccessFile(const TF_Filesystem* filesystem, const char* path,
                                TF_RandomAccessFile* file, TF_Status* status) {
  std::unique_ptr<ReadableFile> f;
  Status s = ReadableFile::Open(path, &f);
  if (s.ok()) file->plugin_file = f.release();
  Set(status, s, path);
}

static void NewWritable(const char* path, bool append, TF_WritableFile* file, TF_Status* status) {
  std::unique_ptr<StagedFile> f;
  Status s = StagedFile::Create(path, append, &f);
  if (s.ok()) file->plugin_file = f.release();
  Set(status, s, path);
}

static void NewWritableFile(const TF_Filesystem* filesystem, const char* path, TF_WritableFile* file,
                            TF_Status* status) {
  NewWritable(path, false, file, status);
}

static void NewAppendableFile(const TF_Filesystem* filesystem, const char* path, TF_WritableFile* file,
                              TF_Status* status) {
  NewWritable(path, true, file, status);
}

static void NewReadOnlyMemoryRegionFromFile(const TF_Filesystem* filesystem, const char* path,
                                            TF_ReadOnlyMemoryRegion* region, TF_Status* status) {
  std::unique_ptr<ReadableFile> f;
  Status s = ReadableFile::Open(path, &f);
  if (s.ok() && f->Size() == 0) s = Error(TF_INVALID_ARGUMENT, "file is empty");
  std::unique_ptr<Region> r(new Region);
  if (s.ok()) {
    r->length = f->Size();
    r->data = malloc(r->length);
    if (r->data == nullptr) s = Error(TF_RESOURCE_EXHAUSTED, "out of memory");
  }
  size_t done = 0;
  if (s.ok()) s = f->Read(0, r->length, static_cast<char*>(r->data), &done);
  if (s.ok()) {
    region->plugin_memory_region = r.release();
  } else {
    free(r->data);
  }
  Set(status, s, path);
}

static void CreateDir(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  Set(status, api::Mkdir(path, false), path);
}

static void RecursivelyCreateDir(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  Set(status, api::Mkdir(path, true), path);
}

static void DeleteFile(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  Set(status, api::Remove(path, "file"), path);
}

static void DeleteDir(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  Set(status, api::Remove(path, "dir"), path);
}

static void DeleteRecursively(const TF_Filesystem* filesystem, const char* path, uint64_t* undeleted_files,
                              uint64_t* undeleted_dirs, TF_Status* status) {
  Status s = api::Remove(path, "recursive");
  *undeleted_files = 0;
  *undeleted_dirs = s.ok() ? 0 : 1;  // the node removes all or nothing
  Set(status, s, path);
}

static void RenameFile(const TF_Filesystem* filesystem, const char* src, const char* dst, TF_Status* status) {
  Set(status, api::Move(src, dst), src);
}

static void CopyFile(const TF_Filesystem* filesystem, const char* src, const char* dst, TF_Status* status) {
  Set(status, api::Copy(src, dst), src);
}

static void PathExists(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  PathInfo info;
  Set(status, api::Stat(path, &info), path);
}

static void Stat(const TF_Filesystem* filesystem, const char* path, TF_FileStatistics* stats, TF_Status* status) {
  PathInfo info;
  Status s = api::Stat(path, &info);
  if (s.ok()) {
    stats->length = info.is_dir ? 0 : static_cast<int64_t>(info.size);
    stats->mtime_nsec = 0;
    stats->is_directory = info.is_dir;
  }
  Set(status, s, path);
}

// TensorFlow returns this status as IsDirectory's answer: a file must be an error.
static bool IsDirectory(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  PathInfo info;
  Status s = api::Stat(path, &info);
  if (s.ok() && !info.is_dir) s = Error(TF_FAILED_PRECONDITION, "not a directory");
  Set(status, s, path);
  return s.ok();
}

static int64_t GetFileSize(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  PathInfo info;
  Status s = api::Stat(path, &info);
  if (s.ok() && info.is_dir) s = Error(TF_FAILED_PRECONDITION, "is a directory");
  Set(status, s, path);
  return s.ok() ? static_cast<int64_t>(info.size) : -1;
}

// TensorFlow would otherwise strip the scheme and the host (`repo`, `ipfs`...): keep the URI.
static char* TranslateName(const TF_Filesystem* filesystem, const char* uri) { return strdup(uri); }

// Returns names as a malloc'd array of malloc'd strings (TensorFlow frees them with free).
static int ToArray(const std::vector<std::string>& names, char*** out) {
  *out = static_cast<char**>(malloc(sizeof(char*) * std::max<size_t>(names.size(), 1)));
  for (size_t i = 0; i < names.size(); i++) (*out)[i] = strdup(names[i].c_str());
  return static_cast<int>(names.size());
}

static int GetChildren(const TF_Filesystem* filesystem, const char* path, char*** entries, TF_Status* status) {
  std::vector<DirEntry> list;
  Status s = api::List(path, &list);
  Set(status, s, path);
  if (!s.ok()) return -1;
  std::vector<std::string> names;
  names.reserve(list.size());
  for (const DirEntry& e : list) names.push_back(e.name);
  return ToArray(names, entries);
}

static int GetMatchingPaths(const TF_Filesystem* filesystem, const char* glob, char*** entries,
                            TF_Status* status) {
  std::vector<std::string> matches;
  Status s = api::Glob(glob, &matches);
  Set(status, s, glob);
  if (!s.ok()) return -1;
  return ToArray(matches, entries);
}

}  // namespace tf_filesystem
}  // namespace iptf

// Ops-table filler -------------------------------------------------------------------------
// Operations left null (transactions, configuration, flush_caches) get TensorFlow's defaults.
static void ProvideFilesystemSupportFor(TF_FilesystemPluginOps* ops, const char* uri) {
  using namespace iptf;
  TF_SetFilesystemVersionMetadata(ops);
  ops->scheme = strdup(uri);

  ops->random_access_file_ops = static_cast<TF_RandomAccessFileOps*>(calloc(1, TF_RANDOM_ACCESS_FILE_OPS_SIZE));
  ops->random_access_file_ops->cleanup = tf_random_access_file::Cleanup;
  ops->random_access_file_ops->read = tf_random_access_file::Read;

  ops->writable_file_ops = static_cast<TF_WritableFileOps*>(calloc(1, TF_WRITABLE_FILE_OPS_SIZE));
  ops->writable_file_ops->cleanup = tf_writable_file::Cleanup;
  ops->writable_file_ops->append = tf_writable_file::Append;
  ops->writable_file_ops->tell = tf_writable_file::Tell;
  ops->writable_file_ops->flush = tf_writable_file::Flush;
  ops->writable_file_ops->sync = tf_writable_file::Sync;
  ops->writable_file_ops->close = tf_writable_file::Close;

  ops->read_only_memory_region_ops =
      static_cast<TF_ReadOnlyMemoryRegionOps*>(calloc(1, TF_READ_ONLY_MEMORY_REGION_OPS_SIZE));
  ops->read_only_memory_region_ops->cleanup = tf_read_only_memory_region::Cleanup;
  ops->read_only_memory_region_ops->data = tf_read_only_memory_region::Data;
  ops->read_only_memory_region_ops->length = tf_read_only_memory_region::Length;

  ops->filesystem_ops = static_cast<TF_FilesystemOps*>(calloc(1, TF_FILESYSTEM_OPS_SIZE));
  TF_FilesystemOps* fs = ops->filesystem_ops;
  fs->init = tf_filesystem::Init;
  fs->cleanup = tf_filesystem::Cleanup;
  fs->new_random_access_file = tf_filesystem::NewRandomAccessFile;
  fs->new_writable_file = tf_filesystem::NewWritableFile;
  fs->new_appendable_file = tf_filesystem::NewAppendableFile;
  fs->new_read_only_memory_region_from_file = tf_filesystem::NewReadOnlyMemoryRegionFromFile;
  fs->create_dir = tf_filesystem::CreateDir;
  fs->recursively_create_dir = tf_filesystem::RecursivelyCreateDir;
  fs->delete_file = tf_filesystem::DeleteFile;
  fs->delete_dir = tf_filesystem::DeleteDir;
  fs->delete_recursively = tf_filesystem::DeleteRecursively;
  fs->rename_file = tf_filesystem::RenameFile;
  fs->copy_file = tf_filesystem::CopyFile;
  fs->path_exists = tf_filesystem::PathExists;
  fs->stat = tf_filesystem::Stat;
  fs->is_directory = tf_filesystem::IsDirectory;
  fs->get_file_size = tf_filesystem::GetFileSize;
  fs->translate_name = tf_filesystem::TranslateName;
  fs->get_children = tf_filesystem::GetChildren;
  fs->get_matching_paths = tf_filesystem::GetMatchingPaths;
  // In another TensorFlow minor every iptf:// operation says which version it needs.
  if (!version_guard::Supported()) version_guard::Refuse(fs);
}

static void* PluginAllocate(size_t size) { return calloc(1, size); }
static void PluginFree(void* ptr) { free(ptr); }

extern "C" TF_CAPI_EXPORT void TF_InitPlugin(TF_FilesystemPluginInfo* info) {
  info->plugin_memory_allocate = PluginAllocate;
  info->plugin_memory_free = PluginFree;
  info->num_schemes = 1;
  info->ops = static_cast<TF_FilesystemPluginOps*>(PluginAllocate(info->num_schemes * sizeof(info->ops[0])));
  ProvideFilesystemSupportFor(&info->ops[0], "iptf");
}

// Self-registration -----------------------------------------------------------------------
// `import tensorflow` dlopens this library from site-packages/tensorflow-plugins/ without
// calling TF_InitPlugin; register through TensorFlow's C API when it is loaded. Nothing here
// may fail loudly: a crash would break `import tensorflow` for the whole environment.
__attribute__((constructor)) static void IptfRegisterAtLoad() {
  iptf::client::InstallForkHandler();
  if (const char* off = getenv("IPTF_NO_AUTOREGISTER"); off && *off && strcmp(off, "0") != 0) return;
  using RegisterFn = void (*)(const char*, TF_Status*);
  void* sym = iptf::version_guard::TensorFlowSymbol("TF_RegisterFilesystemPlugin");
  Dl_info self;
  if (sym == nullptr || !dladdr(reinterpret_cast<void*>(&IptfRegisterAtLoad), &self) || self.dli_fname == nullptr)
    return;
  // With several copies of the plugin installed (a Bazel build run in an environment that has
  // the wheel), $IPTF_PLUGIN names the one that serves; the others stay quiet.
  if (const char* chosen = getenv("IPTF_PLUGIN"); chosen && *chosen) {
    char want[PATH_MAX], have[PATH_MAX];
    if (!realpath(chosen, want) || !realpath(self.dli_fname, have) || strcmp(want, have) != 0) return;
  }
  TF_Status* status = TF_NewStatus();
  reinterpret_cast<RegisterFn>(sym)(self.dli_fname, status);
  TF_DeleteStatus(status);
}
