// Status: an error code and message, and how node errors map onto TensorFlow's codes.
#ifndef IPTF_CPP_STATUS_H_
#define IPTF_CPP_STATUS_H_

#include <string>
#include <string_view>

#include "tensorflow/c/tf_status.h"

namespace iptf {

// The outcome of a call: TF_OK or an error code with its message.
struct Status {
  TF_Code code = TF_OK;
  std::string message;

  bool ok() const { return code == TF_OK; }
};

inline Status Ok() { return {}; }
inline Status Error(TF_Code code, std::string message) { return {code, std::move(message)}; }

// Maps the node's error message ("NotFound: ...") to a status; the code prefix is removed
// from the message. A message without one is TF_UNKNOWN.
Status FromNodeMessage(std::string_view message);

// Copies s into out, naming path first unless the message already does.
void Set(TF_Status* out, const Status& s, std::string_view path);

}  // namespace iptf

#endif  // IPTF_CPP_STATUS_H_
