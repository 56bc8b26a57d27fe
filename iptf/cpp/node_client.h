// The node client: finds (or starts) the repo's iptf-node and calls its HTTP RPC API
// (kubo's /api/v0/...) over the node's Unix socket. HTTP/1.1, one connection per call.
//
// Process-wide state is plain data behind one pthread mutex, reset in forked children,
// so the client keeps working after fork; nothing runs at load time.
#ifndef IPTF_CPP_NODE_CLIENT_H_
#define IPTF_CPP_NODE_CLIENT_H_

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "status.h"

namespace iptf::client {

// Query parameters in order; names may repeat (two `arg`s for mv and cp).
using Query = std::vector<std::pair<std::string, std::string>>;

// Receives a successful response body piece by piece; an error aborts the call.
using BodySink = std::function<Status(const char* data, size_t n)>;

// Per-call knobs.
struct CallOptions {
  double timeout = 0;        // socket timeout in seconds; 0 means TimeoutSeconds()
  bool node_timeout = true;  // also pass kubo's `timeout=<N>s` so the node gives up first
};

// POSTs /api/v0/<command>?<query> and streams a 200 body into sink. A non-200 answer, an
// X-Stream-Error trailer, a timeout or a dead node come back as an error status. When the
// node cannot be reached it is looked up (and started) again, once; so it is when a node
// closes or resets the connection of a read before any of its body arrived (the read is then
// sent again, once). Other commands are never resent.
Status Call(const std::string& command, const Query& query, const BodySink& sink,
            const CallOptions& options = {});

// Same, collecting the body.
Status Call(const std::string& command, const Query& query, std::string* body,
            const CallOptions& options = {});

// The node's repository directory (starts the node when none runs).
Status Repo(std::string* repo);

// Seconds from $IPTF_TIMEOUT (default 60): the bound on every call.
double TimeoutSeconds();

// This process's name, sent to the node with open and write.
const std::string& ProgramName();

// Percent-encodes a query value.
std::string Escape(const std::string& value);

// Registers the pthread_atfork handler that resets the client in children. Call once, at load.
void InstallForkHandler();

}  // namespace iptf::client

#endif  // IPTF_CPP_NODE_CLIENT_H_
