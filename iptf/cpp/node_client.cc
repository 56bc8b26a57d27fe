#include "node_client.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol.h"

extern char** environ;

namespace iptf::client {
namespace {

// ---- Where the node is: plain data only (no constructors run at load), guarded by g_mu.

pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
bool g_known = false;             // g_repo and g_socket are valid
unsigned g_generation = 0;        // bumped on every lookup, so racing threads look up once
char g_repo[4096];                // the node's repository
char g_socket[sizeof(sockaddr_un::sun_path)];  // its API socket

void AtForkChild() {
  // A thread of the parent may have held the lock mid-update: forget what we knew.
  if (pthread_mutex_trylock(&g_mu) != 0) g_known = false;
  pthread_mutex_init(&g_mu, nullptr);
}

struct Endpoint {
  std::string repo, socket;
  unsigned generation = 0;
};

std::string Strerror(int err) {
  char buf[128];
  return strerror_r(err, buf, sizeof buf);
}

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// $IPTF_NODE_BINARY, else <dir of this .so>/../iptf/bin/iptf-node (the installed layout).
std::string NodeBinary() {
  if (const char* env = getenv("IPTF_NODE_BINARY"); env && *env) return env;
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&NodeBinary), &info) && info.dli_fname) {
    std::string so = info.dli_fname;
    size_t slash = so.rfind('/');
    std::string dir = slash == std::string::npos ? "." : so.substr(0, slash);
    return dir + "/../iptf/bin/iptf-node";
  }
  return "iptf-node";
}

// The last non-empty line of a command's stderr, for error messages.
std::string LastLine(std::string text) {
  text.erase(text.find_last_not_of(" \r\n\t") + 1);
  size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

// Runs `iptf-node iptf status --enc=json` (which starts a node when none runs) and returns
// its stdout. posix_spawn, not fork: the host process is multithreaded.
Status RunStatus(std::string* out) {
  const std::string bin = NodeBinary();
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Error(TF_UNAVAILABLE, "pipe: " + Strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]), close(out_pipe[1]);
    return Error(TF_UNAVAILABLE, "pipe: " + Strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  const char* argv[] = {bin.c_str(), "iptf", "status", "--enc=json", nullptr};
  pid_t pid;
  int rc = posix_spawnp(&pid, bin.c_str(), &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]), close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]), close(err_pipe[0]);
    return Error(TF_UNAVAILABLE, "cannot run the IPTF node " + bin + ": " + Strerror(rc));
  }

  // Read both pipes until they close, within the timeout.
  std::string err;
  const double deadline = Now() + TimeoutSeconds();
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {out, &err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    double left = deadline - Now();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int n = poll(fds, 2, static_cast<int>(std::ceil(left * 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        sinks[i]->append(buf, r);
      } else if (r == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      }
    }
  }
  for (pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
  if (timed_out) kill(pid, SIGKILL);
  int wstatus = 0;
  pid_t w;
  while ((w = waitpid(pid, &wstatus, 0)) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return Error(TF_UNAVAILABLE, "the IPTF node did not start within " +
                                     std::to_string(static_cast<int>(TimeoutSeconds())) + "s");
  // waitpid fails (ECHILD) when the host ignores SIGCHLD: then judge by the output.
  if (w == pid && !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)) {
    std::string last = LastLine(err);
    if (last.empty()) last = "exited with status " + std::to_string(WEXITSTATUS(wstatus));
    return Error(TF_UNAVAILABLE, "IPTF node (" + bin + "): " + last);
  }
  return Ok();
}

// Runs the status command, whose answer names the node's socket. Called with g_mu held.
Status LookUp() {
  g_known = false;
  g_generation++;
  std::string out;
  Status s = RunStatus(&out);
  if (!s.ok()) return s;
  NodeStatus status;
  if (Status d = protocol::DecodeStatus("iptf status", out, &status); !d.ok())
    return Error(TF_UNAVAILABLE, d.message);
  const std::string& repo = status.repo;
  const std::string& sock = status.api_socket;
  if (sock.empty())
    return Error(TF_UNAVAILABLE, "the node of " + repo + " has no Unix socket API; the plugin needs one");
  if (sock.size() >= sizeof g_socket || repo.size() >= sizeof g_repo)
    return Error(TF_UNAVAILABLE, "path too long: " + sock);
  memcpy(g_repo, repo.c_str(), repo.size() + 1);
  memcpy(g_socket, sock.c_str(), sock.size() + 1);
  g_known = true;
  return Ok();
}

// Returns the node's endpoint, looking it up when unknown or when it is still the one at
// stale_generation (a connect to it failed).
Status GetEndpoint(Endpoint* ep, const unsigned* stale_generation = nullptr) {
  pthread_mutex_lock(&g_mu);
  Status s;
  if (!g_known || (stale_generation && *stale_generation == g_generation)) s = LookUp();
  if (s.ok()) *ep = Endpoint{g_repo, g_socket, g_generation};
  pthread_mutex_unlock(&g_mu);
  return s;
}

// Connects to the socket with the call's timeouts; returns -1 and sets *err on failure.
int Connect(const std::string& path, double timeout, int* err) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  timeval tv;
  tv.tv_sec = static_cast<time_t>(timeout);
  tv.tv_usec = static_cast<suseconds_t>((timeout - tv.tv_sec) * 1e6);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  while (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    *err = errno;
    close(fd);
    return -1;
  }
  return fd;
}

// A buffered reader of one HTTP response.
class Reader {
 public:
  Reader(int fd, std::string what, bool* dropped)
      : fd_(fd), what_(std::move(what)), dropped_(dropped), buf_(new char[kSize]) {}

  // Reads one line without its CRLF.
  Status Line(std::string* line) {
    line->clear();
    for (;;) {
      if (pos_ == len_) {
        if (Status s = Fill(); !s.ok()) return s;
      }
      char* start = buf_.get() + pos_;
      char* nl = static_cast<char*>(memchr(start, '\n', len_ - pos_));
      size_t take = nl ? nl - start + 1 : len_ - pos_;
      line->append(start, take);
      pos_ += take;
      if (nl) break;
      if (line->size() > 65536) return Error(TF_INTERNAL, "malformed reply from the node to " + what_);
    }
    while (!line->empty() && (line->back() == '\n' || line->back() == '\r')) line->pop_back();
    return Ok();
  }

  // Passes the next n bytes to sink.
  Status Bytes(uint64_t n, const BodySink& sink) {
    while (n > 0) {
      if (pos_ == len_) {
        if (Status s = Fill(); !s.ok()) return s;
      }
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, len_ - pos_));
      if (Status s = sink(buf_.get() + pos_, take); !s.ok()) return s;
      pos_ += take;
      n -= take;
    }
    return Ok();
  }

  // Passes everything up to EOF to sink.
  Status Rest(const BodySink& sink) {
    for (;;) {
      if (pos_ == len_) {
        Status s = Fill();
        if (eof_) return Ok();
        if (!s.ok()) return s;
      }
      if (Status s = sink(buf_.get() + pos_, len_ - pos_); !s.ok()) return s;
      pos_ = len_;
    }
  }

 private:
  static constexpr size_t kSize = 64 << 10;

  Status Fill() {
    pos_ = len_ = 0;
    for (;;) {
      ssize_t r = recv(fd_, buf_.get(), kSize, 0);
      if (r > 0) {
        len_ = r;
        return Ok();
      }
      if (r == 0) {
        eof_ = true;
        *dropped_ = true;
        return Error(TF_UNAVAILABLE, "the IPTF node closed the connection during " + what_);
      }
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) *dropped_ = true;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return Error(TF_UNAVAILABLE, "the IPTF node did not answer " + what_ + " in time (IPTF_TIMEOUT)");
      return Error(TF_UNAVAILABLE, "reading the node's answer to " + what_ + ": " + Strerror(errno));
    }
  }

  int fd_;
  std::string what_;
  bool* dropped_;  // set when the node closed or reset the connection
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// Splits "Name: value" into a lower-case name and a trimmed value.
bool Header(const std::string& line, std::string* name, std::string* value) {
  size_t colon = line.find(':');
  if (colon == std::string::npos) return false;
  *name = Lower(Trim(line.substr(0, colon)));
  *value = Trim(line.substr(colon + 1));
  return true;
}

// The error a non-200 answer carries: kubo's JSON {"Message": ...}, else the raw text.
Status ErrorReply(const std::string& command, int http_status, const std::string& body) {
  try {
    auto j = nlohmann::json::parse(body);
    if (j.is_object() && j.contains("Message") && j["Message"].is_string())
      return FromNodeMessage(j["Message"].get<std::string>());
  } catch (const std::exception&) {
  }
  if (http_status == 404)
    return Error(TF_UNIMPLEMENTED, "the IPTF node has no command " + command + " (node binary too old?)");
  std::string text = Trim(body);
  if (text.empty()) text = "HTTP " + std::to_string(http_status);
  return FromNodeMessage(command + ": " + text);
}

// Sends the request on fd and reads the whole answer. *dropped tells whether it failed because
// the node closed or reset the connection (it died, or stopped while idle), not by its answer
// or a timeout.
Status Exchange(int fd, const std::string& command, const std::string& target, const BodySink& sink,
                bool* dropped) {
  *dropped = false;
  std::string req = "POST " + target +
                    " HTTP/1.1\r\nHost: iptf\r\nUser-Agent: iptf-tf-plugin\r\n"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n";
  for (size_t sent = 0; sent < req.size();) {
    ssize_t w = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      *dropped = errno == EPIPE || errno == ECONNRESET;
      return Error(TF_UNAVAILABLE, "sending " + command + " to the IPTF node: " + Strerror(errno));
    }
    sent += w;
  }

  Reader r(fd, command, dropped);
  std::string line, name, value;
  if (Status s = r.Line(&line); !s.ok()) return s;
  int http_status = 0;
  if (line.compare(0, 5, "HTTP/") != 0 || line.find(' ') == std::string::npos)
    return Error(TF_INTERNAL, "malformed status line from the node: " + line);
  http_status = atoi(line.c_str() + line.find(' ') + 1);
  bool chunked = false;
  long long content_length = -1;
  std::string stream_error;
  for (;;) {
    if (Status s = r.Line(&line); !s.ok()) return s;
    if (line.empty()) break;
    if (!Header(line, &name, &value)) continue;
    if (name == "transfer-encoding") chunked = Lower(value).find("chunked") != std::string::npos;
    if (name == "content-length") content_length = atoll(value.c_str());
    if (name == "x-stream-error" && !value.empty()) stream_error = value;
  }

  // Errors: collect (a bounded amount of) the body instead of streaming it.
  std::string error_body;
  BodySink error_sink = [&error_body](const char* d, size_t n) {
    if (error_body.size() < (1 << 20)) error_body.append(d, n);
    return Ok();
  };
  const BodySink& body_sink = http_status == 200 ? sink : error_sink;

  if (chunked) {
    for (;;) {
      if (Status s = r.Line(&line); !s.ok()) return s;
      char* end = nullptr;
      unsigned long long size = strtoull(line.c_str(), &end, 16);
      if (end == line.c_str()) return Error(TF_INTERNAL, "malformed chunk from the node: " + line);
      if (size == 0) break;
      if (Status s = r.Bytes(size, body_sink); !s.ok()) return s;
      if (Status s = r.Line(&line); !s.ok()) return s;  // the CRLF after the chunk
    }
    for (;;) {  // trailers
      if (Status s = r.Line(&line); !s.ok()) return s;
      if (line.empty()) break;
      if (Header(line, &name, &value) && name == "x-stream-error" && !value.empty()) stream_error = value;
    }
  } else if (content_length >= 0) {
    if (Status s = r.Bytes(content_length, body_sink); !s.ok()) return s;
  } else {
    if (Status s = r.Rest(body_sink); !s.ok()) return s;
  }

  if (http_status != 200) return ErrorReply(command, http_status, error_body);
  if (!stream_error.empty()) return FromNodeMessage(stream_error);
  return Ok();
}

// Commands that only read: one the node did not finish can be sent again. Writes are never
// resent: the node may have applied one before it died.
bool Idempotent(const std::string& command) {
  static const char* const kReads[] = {"iptf/stat", "iptf/ls",   "iptf/open", "iptf/read",
                                       "iptf/blockmap", "iptf/glob", "cat"};
  for (const char* c : kReads)
    if (command == c) return true;
  return false;
}

// A Go duration: "60s", "2.5s".
std::string FormatSeconds(double s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.3f", s);
  std::string out = buf;
  out.erase(out.find_last_not_of('0') + 1);
  if (out.back() == '.') out.pop_back();
  return out + "s";
}

}  // namespace

double TimeoutSeconds() {
  if (const char* env = getenv("IPTF_TIMEOUT"); env && *env) {
    char* end = nullptr;
    double v = strtod(env, &end);
    if (end != env && v > 0) return v;
  }
  return 60;
}

// The program as the reflog names it: the command line that runs this process, with the
// executable's base name, and without the `-m iptf.run` that `iptf python` puts in front.
const std::string& ProgramName() {
  static const std::string name = [] {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> args;
    for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
    if (args.empty()) return std::string("unknown");
    std::string line = args[0].substr(args[0].rfind('/') + 1);
    for (size_t i = 1; i < args.size(); ++i) {
      if (i == 1 && args[i] == "-m" && i + 1 < args.size() && args[i + 1] == "iptf.run") {
        ++i;
        continue;
      }
      const std::string& a = args[i];
      bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$") == std::string::npos;
      line += ' ';
      if (plain) {
        line += a;
        continue;
      }
      line += '\'';
      for (char c : a) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
      line += '\'';
    }
    return line;
  }();
  return name;
}

std::string Escape(const std::string& value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3 / 2);
  for (unsigned char c : value) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Status Call(const std::string& command, const Query& query, const BodySink& sink,
            const CallOptions& options) {
  const double timeout = options.timeout > 0 ? options.timeout : TimeoutSeconds();
  std::string target = "/api/v0/" + command;
  char sep = '?';
  for (const auto& [name, value] : query) {
    target += sep + Escape(name) + "=" + Escape(value);
    sep = '&';
  }
  // The node gets a little less time than the socket, so its own clear error wins.
  if (options.node_timeout) target += sep + std::string("timeout=") + FormatSeconds(timeout);

  Endpoint ep;
  if (Status s = GetEndpoint(&ep); !s.ok()) return s;
  int err = 0;
  int fd = Connect(ep.socket, timeout + 1, &err);
  if (fd < 0 && (err == ENOENT || err == ECONNREFUSED)) {
    // The node stopped (it does when idle): look it up, which starts a new one, and retry once.
    if (Status s = GetEndpoint(&ep, &ep.generation); !s.ok()) return s;
    fd = Connect(ep.socket, timeout + 1, &err);
  }
  if (fd < 0) return Error(TF_UNAVAILABLE, "cannot connect to the IPTF node at " + ep.socket + ": " + Strerror(err));
  uint64_t delivered = 0;  // body bytes passed on: a call that gave some cannot start over
  const BodySink counted = [&](const char* d, size_t n) {
    delivered += n;
    return sink(d, n);
  };
  bool dropped = false;
  Status s = Exchange(fd, command, target, counted, &dropped);
  close(fd);
  if (!s.ok() && dropped && delivered == 0 && Idempotent(command)) {
    // The node died under the request: look it up again (which starts a new one) and resend
    // the read, once, on a fresh connection.
    if (!GetEndpoint(&ep, &ep.generation).ok()) return s;
    fd = Connect(ep.socket, timeout + 1, &err);
    if (fd < 0) return s;
    s = Exchange(fd, command, target, counted, &dropped);
    close(fd);
  }
  return s;
}

Status Call(const std::string& command, const Query& query, std::string* body, const CallOptions& options) {
  body->clear();
  return Call(
      command, query,
      [body](const char* d, size_t n) {
        body->append(d, n);
        return Ok();
      },
      options);
}

Status Repo(std::string* repo) {
  Endpoint ep;
  Status s = GetEndpoint(&ep);
  if (s.ok()) *repo = ep.repo;
  return s;
}

void InstallForkHandler() { pthread_atfork(nullptr, nullptr, &AtForkChild); }

}  // namespace iptf::client
