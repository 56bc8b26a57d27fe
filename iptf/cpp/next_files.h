// NextFiles: staging files the node handed out ahead of an appender's next append to a URI.
#ifndef IPTF_CPP_NEXT_FILES_H_
#define IPTF_CPP_NEXT_FILES_H_

#include <cstdint>
#include <string>

#include "protocol.h"

namespace iptf::next_files {

// A next file taken for writing: renamed to a writer's name, open for writing at its start.
struct Taken {
  std::string path;
  int fd = -1;
  uint64_t size = 0;  // the bytes the URI held at the appender's last write (the base)
};

// Keeps next, the staging file for this process's next append to next.uri, open until Take
// asks for it. The files of URIs not appended to again are left, at exit or when the set is
// full, to the node, which reuses them as spares.
void Keep(const Staged& next);

// Takes the next file kept for uri, if there is one, renaming it to a writer's name (so that
// the node's sweep of dead writers sees the bytes written into it from now on). False when
// there is none, or it is gone (the node reused it): the appender then stages as usual.
bool Take(const std::string& uri, Taken* out);

// Gives back the next files kept for uri and for the paths under it: this process wrote uri
// whole, removed or renamed it, so the size a kept file starts after is no longer what uri
// holds. (A change made by another process is not seen here: the node still puts such an
// append after what the file holds when it is closed, but tell() starts from the old size.)
void Forget(const std::string& uri);

}  // namespace iptf::next_files

#endif  // IPTF_CPP_NEXT_FILES_H_
