// Version guard: the plugin serves iptf:// only in the TensorFlow minor it was built against.
//
// TensorFlow loads every library in site-packages/tensorflow-plugins/, whatever its version. In
// another minor the plugin must neither crash nor serve files through a C API it was not built
// for; it registers operations that all fail with one message naming the version it needs.
#ifndef IPTF_CPP_VERSION_GUARD_H_
#define IPTF_CPP_VERSION_GUARD_H_

#include "tensorflow/c/experimental/filesystem/filesystem_interface.h"

namespace iptf {
namespace version_guard {

// A symbol of TensorFlow's C API library (libtensorflow_cc), which TensorFlow loads before its
// plugins; nullptr when the process has none.
void* TensorFlowSymbol(const char* name);

// True when the running TensorFlow is the minor the plugin was built for (or cannot be asked).
bool Supported();

// Replaces every operation of fs but init, cleanup and translate_name with one that fails with
// FAILED_PRECONDITION, naming the supported and the running TensorFlow versions.
void Refuse(TF_FilesystemOps* fs);

}  // namespace version_guard
}  // namespace iptf

#endif  // IPTF_CPP_VERSION_GUARD_H_
