// TensorFlow filesystem plugin for the `iptf` scheme: a thin client of the IPTF node.
//
// Every path is sent to the node as the full URI (iptf://ipfs/<cid>/..., iptf://repo/...);
// the node resolves it. Reads come straight from the node's block files when they are
// local (fetching the rest with `cat`); writes are staged in a local file and handed to the
// node on flush, sync and close.
//
// Sections follow TensorFlow's C API: random-access file, writable file, read-only memory
// region, filesystem; then the ops-table filler, TF_InitPlugin and self-registration. The files
// behind the first two are readable_file.cc and staged_file.cc.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "next_files.h"
#include "node_api.h"
#include "node_client.h"
#include "readable_file.h"
#include "staged_file.h"
#include "status.h"
#include "version_guard.h"
#include "tensorflow/c/c_api.h"
#include "tensorflow/c/experimental/filesystem/filesystem_interface.h"
#include "tensorflow/c/tf_status.h"

namespace iptf {
namespace {

// A whole file in memory.
struct Region {
  void* data = nullptr;
  uint64_t length = 0;
};

}  // namespace

// SECTION 1. Random-access file -------------------------------------------------------------
namespace tf_random_access_file {

static void Cleanup(TF_RandomAccessFile* file) { delete static_cast<ReadableFile*>(file->plugin_file); }

static int64_t Read(const TF_RandomAccessFile* file, uint64_t offset, size_t n, char* buffer,
                    TF_Status* status) {
  const ReadableFile* f = static_cast<const ReadableFile*>(file->plugin_file);
  size_t done = 0;
  Status s = f->Read(offset, n, buffer, &done);
  Set(status, s, f->uri());
  return s.ok() || s.code == TF_OUT_OF_RANGE ? static_cast<int64_t>(done) : -1;
}

}  // namespace tf_random_access_file

// SECTION 2. Writable file ------------------------------------------------------------------
namespace tf_writable_file {

static StagedFile* File(const TF_WritableFile* file) { return static_cast<StagedFile*>(file->plugin_file); }

static void Cleanup(TF_WritableFile* file) { delete File(file); }

static void Append(const TF_WritableFile* file, const char* buffer, size_t n, TF_Status* status) {
  Set(status, File(file)->Append(buffer, n), File(file)->uri());
}

static int64_t Tell(const TF_WritableFile* file, TF_Status* status) {
  TF_SetStatus(status, TF_OK, "");
  return static_cast<int64_t>(File(file)->Tell());
}

static void Flush(const TF_WritableFile* file, TF_Status* status) {
  Set(status, File(file)->PushBack(), File(file)->uri());
}

static void Sync(const TF_WritableFile* file, TF_Status* status) {
  Set(status, File(file)->Push(), File(file)->uri());
}

static void Close(const TF_WritableFile* file, TF_Status* status) {
  Set(status, File(file)->Close(), File(file)->uri());
}

}  // namespace tf_writable_file

// SECTION 3. Read-only memory region --------------------------------------------------------
namespace tf_read_only_memory_region {

static void Cleanup(TF_ReadOnlyMemoryRegion* region) {
  Region* r = static_cast<Region*>(region->plugin_memory_region);
  free(r->data);
  delete r;
}

static const void* Data(const TF_ReadOnlyMemoryRegion* region) {
  return static_cast<Region*>(region->plugin_memory_region)->data;
}

static uint64_t Length(const TF_ReadOnlyMemoryRegion* region) {
  return static_cast<Region*>(region->plugin_memory_region)->length;
}

}  // namespace tf_read_only_memory_region

// SECTION 4. Filesystem ---------------------------------------------------------------------
namespace tf_filesystem {

static void Init(TF_Filesystem* filesystem, TF_Status* status) {
  filesystem->plugin_filesystem = nullptr;  // all state is the node client's, created lazily
  TF_SetStatus(status, TF_OK, "");
}

static void Cleanup(TF_Filesystem* filesystem) {}

static void NewRandomAccessFile(const TF_Filesystem* filesystem, const char* path,
                                TF_RandomAccessFile* file, TF_Status* status) {
  std::unique_ptr<ReadableFile> f;
  Status s = ReadableFile::Open(path, &f);
  if (s.ok()) file->plugin_file = f.release();
  Set(status, s, path);
}

static void NewWritable(const char* path, bool append, TF_WritableFile* file, TF_Status* status) {
  if (!append) next_files::Forget(path);  // written whole: a kept next file follows older bytes
  std::unique_ptr<StagedFile> f;
  Status s = StagedFile::Create(path, append, &f);
  if (s.ok()) file->plugin_file = f.release();
  Set(status, s, path);
}

static void NewWritableFile(const TF_Filesystem* filesystem, const char* path, TF_WritableFile* file,
                            TF_Status* status) {
  NewWritable(path, false, file, status);
}

static void NewAppendableFile(const TF_Filesystem* filesystem, const char* path, TF_WritableFile* file,
                              TF_Status* status) {
  NewWritable(path, true, file, status);
}

static void NewReadOnlyMemoryRegionFromFile(const TF_Filesystem* filesystem, const char* path,
                                            TF_ReadOnlyMemoryRegion* region, TF_Status* status) {
  std::unique_ptr<ReadableFile> f;
  Status s = ReadableFile::Open(path, &f);
  if (s.ok() && f->Size() == 0) s = Error(TF_INVALID_ARGUMENT, "file is empty");
  std::unique_ptr<Region> r(new Region);
  if (s.ok()) {
    r->length = f->Size();
    r->data = malloc(r->length);
    if (r->data == nullptr) s = Error(TF_RESOURCE_EXHAUSTED, "out of memory");
  }
  size_t done = 0;
  if (s.ok()) s = f->Read(0, r->length, static_cast<char*>(r->data), &done);
  if (s.ok()) {
    region->plugin_memory_region = r.release();
  } else {
    free(r->data);
  }
  Set(status, s, path);
}

static void CreateDir(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  Set(status, api::Mkdir(path, false), path);
}

static void RecursivelyCreateDir(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  Set(status, api::Mkdir(path, true), path);
}

static void DeleteFile(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  next_files::Forget(path);
  Set(status, api::Remove(path, "file"), path);
}

static void DeleteDir(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  Set(status, api::Remove(path, "dir"), path);
}

static void DeleteRecursively(const TF_Filesystem* filesystem, const char* path, uint64_t* undeleted_files,
                              uint64_t* undeleted_dirs, TF_Status* status) {
  next_files::Forget(path);
  Status s = api::Remove(path, "recursive");
  *undeleted_files = 0;
  *undeleted_dirs = s.ok() ? 0 : 1;  // the node removes all or nothing
  Set(status, s, path);
}

static void RenameFile(const TF_Filesystem* filesystem, const char* src, const char* dst, TF_Status* status) {
  next_files::Forget(src);
  next_files::Forget(dst);
  Set(status, api::Move(src, dst), src);
}

static void CopyFile(const TF_Filesystem* filesystem, const char* src, const char* dst, TF_Status* status) {
  next_files::Forget(dst);
  Set(status, api::Copy(src, dst), src);
}

static void PathExists(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  PathInfo info;
  Set(status, api::Stat(path, &info), path);
}

static void Stat(const TF_Filesystem* filesystem, const char* path, TF_FileStatistics* stats, TF_Status* status) {
  PathInfo info;
  Status s = api::Stat(path, &info);
  if (s.ok()) {
    stats->length = info.is_dir ? 0 : static_cast<int64_t>(info.size);
    stats->mtime_nsec = 0;
    stats->is_directory = info.is_dir;
  }
  Set(status, s, path);
}

// TensorFlow returns this status as IsDirectory's answer: a file must be an error.
static bool IsDirectory(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  PathInfo info;
  Status s = api::Stat(path, &info);
  if (s.ok() && !info.is_dir) s = Error(TF_FAILED_PRECONDITION, "not a directory");
  Set(status, s, path);
  return s.ok();
}

static int64_t GetFileSize(const TF_Filesystem* filesystem, const char* path, TF_Status* status) {
  PathInfo info;
  Status s = api::Stat(path, &info);
  if (s.ok() && info.is_dir) s = Error(TF_FAILED_PRECONDITION, "is a directory");
  Set(status, s, path);
  return s.ok() ? static_cast<int64_t>(info.size) : -1;
}

// TensorFlow would otherwise strip the scheme and the host (`repo`, `ipfs`...): keep the URI.
static char* TranslateName(const TF_Filesystem* filesystem, const char* uri) { return strdup(uri); }

// Returns names as a malloc'd array of malloc'd strings (TensorFlow frees them with free).
static int ToArray(const std::vector<std::string>& names, char*** out) {
  *out = static_cast<char**>(malloc(sizeof(char*) * std::max<size_t>(names.size(), 1)));
  for (size_t i = 0; i < names.size(); i++) (*out)[i] = strdup(names[i].c_str());
  return static_cast<int>(names.size());
}

static int GetChildren(const TF_Filesystem* filesystem, const char* path, char*** entries, TF_Status* status) {
  std::vector<DirEntry> list;
  Status s = api::List(path, &list);
  Set(status, s, path);
  if (!s.ok()) return -1;
  std::vector<std::string> names;
  names.reserve(list.size());
  for (const DirEntry& e : list) names.push_back(e.name);
  return ToArray(names, entries);
}

static int GetMatchingPaths(const TF_Filesystem* filesystem, const char* glob, char*** entries,
                            TF_Status* status) {
  std::vector<std::string> matches;
  Status s = api::Glob(glob, &matches);
  Set(status, s, glob);
  if (!s.ok()) return -1;
  return ToArray(matches, entries);
}

}  // namespace tf_filesystem
}  // namespace iptf

// Ops-table filler -------------------------------------------------------------------------
// Operations left null (transactions, configuration, flush_caches) get TensorFlow's defaults.
static void ProvideFilesystemSupportFor(TF_FilesystemPluginOps* ops, const char* uri) {
  using namespace iptf;
  TF_SetFilesystemVersionMetadata(ops);
  ops->scheme = strdup(uri);

  ops->random_access_file_ops = static_cast<TF_RandomAccessFileOps*>(calloc(1, TF_RANDOM_ACCESS_FILE_OPS_SIZE));
  ops->random_access_file_ops->cleanup = tf_random_access_file::Cleanup;
  ops->random_access_file_ops->read = tf_random_access_file::Read;

  ops->writable_file_ops = static_cast<TF_WritableFileOps*>(calloc(1, TF_WRITABLE_FILE_OPS_SIZE));
  ops->writable_file_ops->cleanup = tf_writable_file::Cleanup;
  ops->writable_file_ops->append = tf_writable_file::Append;
  ops->writable_file_ops->tell = tf_writable_file::Tell;
  ops->writable_file_ops->flush = tf_writable_file::Flush;
  ops->writable_file_ops->sync = tf_writable_file::Sync;
  ops->writable_file_ops->close = tf_writable_file::Close;

  ops->read_only_memory_region_ops =
      static_cast<TF_ReadOnlyMemoryRegionOps*>(calloc(1, TF_READ_ONLY_MEMORY_REGION_OPS_SIZE));
  ops->read_only_memory_region_ops->cleanup = tf_read_only_memory_region::Cleanup;
  ops->read_only_memory_region_ops->data = tf_read_only_memory_region::Data;
  ops->read_only_memory_region_ops->length = tf_read_only_memory_region::Length;

  ops->filesystem_ops = static_cast<TF_FilesystemOps*>(calloc(1, TF_FILESYSTEM_OPS_SIZE));
  TF_FilesystemOps* fs = ops->filesystem_ops;
  fs->init = tf_filesystem::Init;
  fs->cleanup = tf_filesystem::Cleanup;
  fs->new_random_access_file = tf_filesystem::NewRandomAccessFile;
  fs->new_writable_file = tf_filesystem::NewWritableFile;
  fs->new_appendable_file = tf_filesystem::NewAppendableFile;
  fs->new_read_only_memory_region_from_file = tf_filesystem::NewReadOnlyMemoryRegionFromFile;
  fs->create_dir = tf_filesystem::CreateDir;
  fs->recursively_create_dir = tf_filesystem::RecursivelyCreateDir;
  fs->delete_file = tf_filesystem::DeleteFile;
  fs->delete_dir = tf_filesystem::DeleteDir;
  fs->delete_recursively = tf_filesystem::DeleteRecursively;
  fs->rename_file = tf_filesystem::RenameFile;
  fs->copy_file = tf_filesystem::CopyFile;
  fs->path_exists = tf_filesystem::PathExists;
  fs->stat = tf_filesystem::Stat;
  fs->is_directory = tf_filesystem::IsDirectory;
  fs->get_file_size = tf_filesystem::GetFileSize;
  fs->translate_name = tf_filesystem::TranslateName;
  fs->get_children = tf_filesystem::GetChildren;
  fs->get_matching_paths = tf_filesystem::GetMatchingPaths;
  // In another TensorFlow minor every iptf:// operation says which version it needs.
  if (!version_guard::Supported()) version_guard::Refuse(fs);
}

static void* PluginAllocate(size_t size) { return calloc(1, size); }
static void PluginFree(void* ptr) { free(ptr); }

extern "C" TF_CAPI_EXPORT void TF_InitPlugin(TF_FilesystemPluginInfo* info) {
  info->plugin_memory_allocate = PluginAllocate;
  info->plugin_memory_free = PluginFree;
  info->num_schemes = 1;
  info->ops = static_cast<TF_FilesystemPluginOps*>(PluginAllocate(info->num_schemes * sizeof(info->ops[0])));
  ProvideFilesystemSupportFor(&info->ops[0], "iptf");
}

// Self-registration -----------------------------------------------------------------------
// `import tensorflow` dlopens this library from site-packages/tensorflow-plugins/ without
// calling TF_InitPlugin; register through TensorFlow's C API when it is loaded. Nothing here
// may fail loudly: a crash would break `import tensorflow` for the whole environment.
__attribute__((constructor)) static void IptfRegisterAtLoad() {
  iptf::client::InstallForkHandler();
  if (const char* off = getenv("IPTF_NO_AUTOREGISTER"); off && *off && strcmp(off, "0") != 0) return;
  using RegisterFn = void (*)(const char*, TF_Status*);
  void* sym = iptf::version_guard::TensorFlowSymbol("TF_RegisterFilesystemPlugin");
  Dl_info self;
  if (sym == nullptr || !dladdr(reinterpret_cast<void*>(&IptfRegisterAtLoad), &self) || self.dli_fname == nullptr)
    return;
  // With several copies of the plugin installed (a Bazel build run in an environment that has
  // the wheel), $IPTF_PLUGIN names the one that serves; the others stay quiet.
  if (const char* chosen = getenv("IPTF_PLUGIN"); chosen && *chosen) {
    char want[PATH_MAX], have[PATH_MAX];
    if (!realpath(chosen, want) || !realpath(self.dli_fname, have) || strcmp(want, have) != 0) return;
  }
  TF_Status* status = TF_NewStatus();
  reinterpret_cast<RegisterFn>(sym)(self.dli_fname, status);
  TF_DeleteStatus(status);
}
