#include "staged_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "next_files.h"

namespace iptf {

Status StagedFile::Create(const std::string& uri, bool append, std::unique_ptr<StagedFile>* out) {
  if (next_files::Taken next; append && next_files::Take(uri, &next)) {
    // Handed out at this process's last close of uri: no round trip to the node.
    std::unique_ptr<StagedFile> f(new StagedFile(uri, next.path, next.fd));
    f->append_ = f->dirty_ = true;
    f->StartAfterQueued(next.size);
    f->ahead_ = true;
    *out = std::move(f);
    return Ok();
  }
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
  f->append_ = append;
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

Status StagedFile::Append(const char* data, size_t n) {
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

Status StagedFile::Push() {
  bool changed = false;
  if (Status s = Buffered(&changed); !s.ok() || !changed) return s;
  Written written;
  if (Status s = api::Write(uri_, Content(), /*nolog=*/false, &written); !s.ok()) return s;
  StartAfter(written.cid, size_, /*staged_from=*/start_);
  dirty_ = false;
  return Ok();
}

Status StagedFile::PushBack() {
  bool changed = false;
  if (Status s = Buffered(&changed); !s.ok() || !changed) return s;
  Written written;
  if (Status s = api::WriteBack(uri_, Content(), /*keep=*/true, /*nolog=*/false, /*next=*/false, &written); !s.ok())
    return s;
  if (written.queued) {
    StartAfterQueued(size_, /*staged_from=*/start_);
    flushes_queued_ = true;
  } else {
    StartAfter(written.cid, size_, /*staged_from=*/start_);  // the node imported it at once
  }
  dirty_ = false;
  return Ok();
}

Status StagedFile::Close() {
  if (fd_ < 0) return Ok();
  Status s = failed_.ok() ? FlushBuffer() : failed_;
  // With flushes still queued (they read this file) the close hands the file over even when
  // nothing was written since, so that the queue, not the writer, lets it go.
  if (s.ok() && (dirty_ || flushes_queued_)) {
    Written written;
    // An appender is likely to append again (a log): the node hands out that file now.
    s = api::WriteBack(uri_, Content(), /*keep=*/false, /*nolog=*/!dirty_, /*next=*/append_, &written);
    handed_over_ = s.ok() && written.queued;
    if (handed_over_ && written.has_next) next_files::Keep(written.next);
  }
  close(fd_);
  fd_ = -1;
  // A flush still queued may read the file: it is left for the node's sweep of dead writers.
  if (!handed_over_ && !(flushes_queued_ && !s.ok())) unlink(path_.c_str());
  return s;
}

StagedFile::StagedFile(std::string uri, std::string path, int fd)
    : uri_(std::move(uri)), path_(std::move(path)), fd_(fd) {
  buf_.reserve(kBufferSize);
}

void StagedFile::StartAfter(const std::string& cid, uint64_t size, uint64_t staged_from) {
  ahead_ = false;  // what follows a push follows this writer's own write
  base_cid_ = cid;
  base_size_ = size;
  start_ = staged_from;
  after_queued_ = false;
}

void StagedFile::StartAfter(const std::string& cid, uint64_t size) {
  StartAfter(cid, size, size);
  size_ = size;
}

void StagedFile::StartAfterQueued(uint64_t size, uint64_t staged_from) {
  StartAfter("", size, staged_from);
  after_queued_ = true;
}

void StagedFile::StartAfterQueued(uint64_t size) {
  StartAfterQueued(size, size);
  size_ = size;
}

api::StagedContent StagedFile::Content() const {
  return {path_, size_ - start_, base_cid_, base_size_ - start_, after_queued_, base_size_, ahead_};
}

Status StagedFile::CopyCurrent() {
  std::unique_ptr<ReadableFile> current;
  if (Status s = ReadableFile::Open(uri_, &current); !s.ok()) return s;
  return CopyFrom(*current);
}

Status StagedFile::CopyFrom(const ReadableFile& src) {
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

Status StagedFile::Buffered(bool* changed) {
  if (fd_ < 0) return Error(TF_FAILED_PRECONDITION, "file already closed");
  if (!failed_.ok()) return failed_;
  if (Status s = FlushBuffer(); !s.ok()) return s;
  *changed = dirty_;
  return Ok();
}

Status StagedFile::FlushBuffer() {
  Status s = WriteAll(buf_.data(), buf_.size());
  buf_.clear();
  return s;
}

Status StagedFile::WriteAll(const char* data, size_t n) {
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

}  // namespace iptf
