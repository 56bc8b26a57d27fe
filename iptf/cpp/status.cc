#include "status.h"

namespace iptf {
namespace {

// The codes the node names in front of its messages (fsapi.Code in the Go node). The node
// classifies every error its iptf/ commands send, so nothing is guessed from the text here.
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
    {"ResourceExhausted", TF_RESOURCE_EXHAUSTED},
    {"Unavailable", TF_UNAVAILABLE},
    {"Internal", TF_INTERNAL},
    {"Unimplemented", TF_UNIMPLEMENTED},
};

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
  // Only errors raised before a command runs (a malformed request) come without a class.
  return Error(TF_UNKNOWN, std::string(message));
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
