#include "next_files.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <map>
#include <mutex>

namespace iptf::next_files {
namespace {

// Kept per process: a child forked with them open must not write into its parent's files.
constexpr size_t kMaxKept = 64;
constexpr char kNextPrefix[] = "next-";
constexpr char kWriterPrefix[] = "write-";

struct Kept {
  std::string path;
  int fd;
  uint64_t size;
};

std::mutex g_mu;
pid_t g_owner = 0;                 // the process the kept files belong to
std::map<std::string, Kept> g_kept;  // by URI

// Called with g_mu held: forgets the files kept by the process this one was forked from.
void ForgetInherited() {
  if (g_owner == getpid()) return;
  for (auto& [uri, kept] : g_kept) close(kept.fd);
  g_kept.clear();
  g_owner = getpid();
}

// The writer's name of a next file: the same folder and random part, another prefix.
bool WriterName(const std::string& next, std::string* out) {
  const size_t slash = next.rfind('/');
  const size_t base = slash == std::string::npos ? 0 : slash + 1;
  if (next.compare(base, sizeof kNextPrefix - 1, kNextPrefix) != 0) return false;
  *out = next.substr(0, base) + kWriterPrefix + next.substr(base + sizeof kNextPrefix - 1);
  return true;
}

}  // namespace

void Keep(const Staged& next) {
  std::string unused;
  if (!next.after_queued || !WriterName(next.path, &unused)) return;
  const int fd = open(next.path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::lock_guard<std::mutex> lock(g_mu);
  ForgetInherited();
  auto it = g_kept.find(next.uri);
  if (it == g_kept.end() && g_kept.size() >= kMaxKept) it = g_kept.begin();
  if (it != g_kept.end()) {  // the file it replaces goes back to the node (a spare)
    close(it->second.fd);
    g_kept.erase(it);
  }
  g_kept[next.uri] = Kept{next.path, fd, next.size};
}

bool Take(const std::string& uri, Taken* out) {
  Kept kept;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    ForgetInherited();
    auto it = g_kept.find(uri);
    if (it == g_kept.end()) return false;
    kept = it->second;
    g_kept.erase(it);
  }
  std::string writer;
  // A failed rename: the node took the file back (a sweep saw it unopened before we opened it).
  if (!WriterName(kept.path, &writer) || rename(kept.path.c_str(), writer.c_str()) != 0) {
    close(kept.fd);
    return false;
  }
  *out = Taken{writer, kept.fd, kept.size};
  return true;
}

void Forget(const std::string& uri) {
  std::string base = uri;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const std::string under = base + '/';
  std::lock_guard<std::mutex> lock(g_mu);
  ForgetInherited();
  for (auto it = g_kept.begin(); it != g_kept.end();) {
    if (it->first == base || it->first.compare(0, under.size(), under) == 0) {
      close(it->second.fd);  // the file goes back to the node (a spare)
      it = g_kept.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace iptf::next_files
