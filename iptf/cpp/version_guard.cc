#include "version_guard.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstring>

#include "tensorflow/c/tf_status.h"

// "2.21": set by the build from the TensorFlow whose headers and library it used.
#ifndef IPTF_TF_MINOR
#error "IPTF_TF_MINOR (the TensorFlow major.minor the plugin is built for) must be defined"
#endif

namespace iptf {
namespace version_guard {
namespace {

#ifdef __APPLE__
constexpr const char* kTensorFlowCc = "libtensorflow_cc.2.dylib";
#else
constexpr const char* kTensorFlowCc = "libtensorflow_cc.so.2";
#endif

// TF_Version() of the TensorFlow in this process, or nullptr when it has none (e.g. a test
// binary linking only libtensorflow_framework).
const char* RunningVersion() {
  using VersionFn = const char* (*)();
  void* sym = TensorFlowSymbol("TF_Version");
  return sym == nullptr ? nullptr : reinterpret_cast<VersionFn>(sym)();
}

// Filled once by Refuse(); plain storage so that nothing here needs construction at load time.
char g_message[256];

void Fail(TF_Status* status) { TF_SetStatus(status, TF_FAILED_PRECONDITION, g_message); }

void RefuseFile(const TF_Filesystem*, const char*, TF_RandomAccessFile*, TF_Status* s) { Fail(s); }
void RefuseWritable(const TF_Filesystem*, const char*, TF_WritableFile*, TF_Status* s) { Fail(s); }
void RefuseRegion(const TF_Filesystem*, const char*, TF_ReadOnlyMemoryRegion*, TF_Status* s) { Fail(s); }
void RefusePath(const TF_Filesystem*, const char*, TF_Status* s) { Fail(s); }
void RefuseTwoPaths(const TF_Filesystem*, const char*, const char*, TF_Status* s) { Fail(s); }
void RefuseStat(const TF_Filesystem*, const char*, TF_FileStatistics*, TF_Status* s) { Fail(s); }
bool RefuseIsDir(const TF_Filesystem*, const char*, TF_Status* s) { Fail(s); return false; }
int64_t RefuseSize(const TF_Filesystem*, const char*, TF_Status* s) { Fail(s); return -1; }
int RefuseList(const TF_Filesystem*, const char*, char***, TF_Status* s) { Fail(s); return -1; }
void RefuseDeleteAll(const TF_Filesystem*, const char*, uint64_t* files, uint64_t* dirs, TF_Status* s) {
  *files = 0;
  *dirs = 0;
  Fail(s);
}

}  // namespace

void* TensorFlowSymbol(const char* name) {
  if (void* sym = dlsym(RTLD_DEFAULT, name)) return sym;
  void* sym = nullptr;
  if (void* h = dlopen(kTensorFlowCc, RTLD_LAZY | RTLD_NOLOAD)) {
    sym = dlsym(h, name);
    dlclose(h);  // drops only the reference NOLOAD took: TensorFlow keeps the library loaded
  }
  return sym;
}

bool Supported() {
  const char* running = RunningVersion();
  if (running == nullptr) return true;
  const size_t n = strlen(IPTF_TF_MINOR);
  return strncmp(running, IPTF_TF_MINOR, n) == 0 && running[n] == '.';
}

void Refuse(TF_FilesystemOps* fs) {
  const char* running = RunningVersion();
  snprintf(g_message, sizeof g_message,
           "iptf:// paths need TensorFlow %s.x, and this is TensorFlow %s: "
           "pip install 'iptf-tensorflow[tensorflow]' (or tensorflow-cpu==%s.*)",
           IPTF_TF_MINOR, running ? running : "of another version", IPTF_TF_MINOR);
  TF_FilesystemOps keep = *fs;
  memset(fs, 0, sizeof *fs);
  fs->init = keep.init;
  fs->cleanup = keep.cleanup;
  fs->translate_name = keep.translate_name;
  fs->new_random_access_file = RefuseFile;
  fs->new_writable_file = RefuseWritable;
  fs->new_appendable_file = RefuseWritable;
  fs->new_read_only_memory_region_from_file = RefuseRegion;
  fs->create_dir = RefusePath;
  fs->recursively_create_dir = RefusePath;
  fs->delete_file = RefusePath;
  fs->delete_dir = RefusePath;
  fs->delete_recursively = RefuseDeleteAll;
  fs->rename_file = RefuseTwoPaths;
  fs->copy_file = RefuseTwoPaths;
  fs->path_exists = RefusePath;
  fs->stat = RefuseStat;
  fs->is_directory = RefuseIsDir;
  fs->get_file_size = RefuseSize;
  fs->get_children = RefuseList;
  fs->get_matching_paths = RefuseList;
}

}  // namespace version_guard
}  // namespace iptf
