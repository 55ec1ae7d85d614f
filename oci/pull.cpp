// Pulling an image (see pull.hpp).
//
// One layer is moved by two threads joined by a small bounded pipe: a
// download thread runs Registry::GetBlob and pushes the bytes in, the
// calling thread runs ApplyLayer whose reader takes them out. The reader
// sees the end of the stream only after the download thread has checked the
// blob's digest, so a mismatch fails the layer (and the pull).
#include "oci/pull.hpp"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "common/json.hpp"

namespace elemental::oci {
namespace {

// A bounded byte pipe between one writer and one reader thread.
class Pipe {
 public:
  explicit Pipe(size_t capacity) : capacity_(capacity) {}

  // Blocks while the pipe is full. Error when the reader has gone away.
  Status Write(const char* data, size_t len) {
    std::unique_lock<std::mutex> lock(mu_);
    while (len > 0) {
      cv_.wait(lock, [&] { return reader_gone_ || buf_.size() < capacity_; });
      if (reader_gone_) return Error("layer application stopped");
      size_t n = std::min(len, capacity_ - buf_.size());
      buf_.insert(buf_.end(), data, data + n);
      data += n;
      len -= n;
      cv_.notify_all();
    }
    return Status::Ok();
  }

  // Ends the stream: with `err` set, the reader gets that error.
  void Finish(Status st) {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    status_ = std::move(st);
    cv_.notify_all();
  }

  // Blocks until data, the end (0) or the writer's error.
  Expected<size_t> Read(char* out, size_t len) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !buf_.empty() || finished_; });
    if (buf_.empty()) {
      if (!status_) return status_.error();
      return size_t{0};
    }
    size_t n = std::min(len, buf_.size());
    std::copy(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n), out);
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
    cv_.notify_all();
    return n;
  }

  void CloseReader() {
    std::lock_guard<std::mutex> lock(mu_);
    reader_gone_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<char> buf_;
  size_t capacity_;
  bool finished_ = false;
  bool reader_gone_ = false;
  Status status_;
};

Status PullLayer(Registry& registry, const Layer& layer, size_t index, size_t count,
                 const std::string& target, const PullOptions& opts) {
  Pipe pipe(1 << 20);
  Progress progress{index, count, layer.desc.digest, 0, layer.desc.size};
  std::thread downloader([&] {
    Status st = registry.GetBlob(layer.desc.digest, layer.desc.size,
                                 [&](const char* data, size_t len) -> Status {
                                   progress.done += static_cast<int64_t>(len);
                                   if (opts.progress) opts.progress(progress);
                                   return pipe.Write(data, len);
                                 });
    pipe.Finish(std::move(st));
  });
  Status applied = ApplyLayer(target, [&](char* buf, size_t len) { return pipe.Read(buf, len); },
                              opts.apply);
  // Read the rest of the blob: the tar end may come before the blob's end,
  // and the digest must be checked over every byte. When the layer failed,
  // corrupt data is the likely cause, and a digest mismatch says so better
  // than a decompression error.
  Status downloaded;
  char rest[64 * 1024];
  while (true) {
    auto n = pipe.Read(rest, sizeof(rest));
    if (!n) {
      downloaded = n.error();
      break;
    }
    if (*n == 0) break;
  }
  pipe.CloseReader();
  downloader.join();
  if (!downloaded) return downloaded.error().Wrap("layer " + layer.desc.digest);
  if (!applied) return applied.error().Wrap("layer " + layer.desc.digest);
  return Status::Ok();
}

}  // namespace

Expected<PullResult> Pull(const std::string& reference, const std::string& target,
                          const PullOptions& opts) {
  auto ref = ParseReference(reference);
  if (!ref) return ref.error();
  const std::string ctx = "pulling oci://" + ref->String();
  Registry registry(*ref, opts.registry);

  auto fetched = registry.GetManifest(ref->ManifestRef());
  if (!fetched) return fetched.error().Wrap(ctx);
  if (IsIndexType(fetched->media_type)) {
    auto doc = json::Parse(fetched->body);
    if (!doc) return doc.error().Wrap(ctx);
    auto entries = ParseIndex(*doc);
    if (!entries) return entries.error().Wrap(ctx);
    auto chosen = SelectPlatform(*entries, opts.platform);
    if (!chosen) return chosen.error().Wrap(ctx);
    fetched = registry.GetManifest(chosen->digest);
    if (!fetched) return fetched.error().Wrap(ctx);
  }
  auto doc = json::Parse(fetched->body);
  if (!doc) return doc.error().Wrap(ctx);
  auto manifest = ParseManifest(*doc);
  if (!manifest) return manifest.error().Wrap(ctx);
  for (size_t i = 0; i < manifest->layers.size(); ++i) {
    if (auto st = PullLayer(registry, manifest->layers[i], i, manifest->layers.size(), target,
                            opts);
        !st) {
      return st.error().Wrap(ctx);
    }
  }
  return PullResult{fetched->digest};
}

}  // namespace elemental::oci
