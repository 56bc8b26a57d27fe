#include "status.h"

#include <algorithm>
#include <cctype>

namespace iptf {
namespace {

// The codes the node names in front of its messages.
struct Prefix {
  std::string_view name;
  TF_Code code;
};
constexpr Prefix kPrefixes[] = {
    {"NotFound", TF_NOT_FOUND},
    {"PermissionDenied", TF_PERMISSION_DENIED},
    {"AlreadyExists", TF_ALREADY_EXISTS},
    {"FailedPrecondition", TF_FAILED_PRECONDITION},
    {"InvalidArgument", TF_INVALID_ARGUMENT},
    {"OutOfRange", TF_OUT_OF_RANGE},
    {"Unavailable", TF_UNAVAILABLE},
    {"Internal", TF_INTERNAL},
    {"Unimplemented", TF_UNIMPLEMENTED},
};

bool Contains(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  return it != haystack.end();
}

// Guesses a code from the text of errors that carry no prefix (kubo's own commands).
TF_Code Guess(std::string_view text) {
  if (Contains(text, "context deadline exceeded") || Contains(text, "timeout") ||
      Contains(text, "timed out"))
    return TF_UNAVAILABLE;
  if (Contains(text, "not found") || Contains(text, "no link named") ||
      Contains(text, "does not exist") || Contains(text, "could not find"))
    return TF_NOT_FOUND;
  if (Contains(text, "invalid path") || Contains(text, "invalid cid")) return TF_INVALID_ARGUMENT;
  return TF_UNKNOWN;
}

}  // namespace

Status FromNodeMessage(std::string_view message) {
  for (const Prefix& p : kPrefixes) {
    if (message.size() > p.name.size() + 1 && message.substr(0, p.name.size()) == p.name &&
        message[p.name.size()] == ':') {
      std::string_view rest = message.substr(p.name.size() + 1);
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      return Error(p.code, std::string(rest));
    }
  }
  return Error(Guess(message), std::string(message));
}

void Set(TF_Status* out, const Status& s, std::string_view path) {
  if (s.ok()) {
    TF_SetStatus(out, TF_OK, "");
    return;
  }
  std::string msg;
  if (path.empty() || s.message.find(path) != std::string::npos) {
    msg = s.message;
  } else {
    msg.reserve(path.size() + 2 + s.message.size());
    msg.append(path).append(": ").append(s.message);
  }
  TF_SetStatus(out, s.code, msg.c_str());
}

}  // namespace iptf
