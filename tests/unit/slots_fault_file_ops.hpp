// A fault-injecting, in-memory slots::FileOps that models a power cut.
//
// Every mutating operation (open, write, fsync, close, rename, fsync-dir,
// unlink) is one numbered step. With CutPowerAt(k), step k does not happen
// and returns an error, and every later operation fails too: the "process"
// has stopped. PowerCut(mode) then turns the memory into what a disk would
// hold after the cut, as a real power cut would:
//   - directory entries (creations, renames, unlinks) not followed by a
//     FsyncDir of their directory are lost (except in kKeepUnsynced, where
//     everything happened to reach the disk);
//   - file data written but not fsync'ed is, depending on `mode`, lost
//     (the last fsync'ed content), kept, empty, torn (half of it) or
//     corrupted (one bit flipped).
// FailAt(k, errno) makes step k fail once without stopping anything (EIO,
// ENOSPC).
#pragma once

#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "slots/file_ops.hpp"

namespace elemental::slots::testing {

enum class CutMode { kLoseUnsynced, kKeepUnsynced, kEmptyUnsynced, kTornUnsynced, kCorruptUnsynced };

inline const char* CutModeName(CutMode m) {
  switch (m) {
    case CutMode::kLoseUnsynced: return "lose";
    case CutMode::kKeepUnsynced: return "keep";
    case CutMode::kEmptyUnsynced: return "empty";
    case CutMode::kTornUnsynced: return "torn";
    case CutMode::kCorruptUnsynced: return "corrupt";
  }
  return "";
}

class FaultFileOps final : public FileOps {
 public:
  // Step numbering starts at 1; 0 turns the fault off.
  void CutPowerAt(int step) { cut_at_ = step; }
  void FailAt(int step, int err) { fail_at_ = step; fail_errno_ = err; }
  int steps() const { return steps_; }
  // Restarts the step count (after a test's setup).
  void ResetSteps() { steps_ = 0; }
  bool down() const { return down_; }
  const std::vector<std::string>& log() const { return log_; }

  // The disk after the power cut (see the file comment); the machine is up
  // again and the step counter restarts.
  void PowerCut(CutMode mode) {
    if (mode != CutMode::kKeepUnsynced) names_ = durable_names_;
    std::map<Inode*, bool> seen;
    for (auto& [path, node] : names_) {
      if (seen[node.get()]) continue;
      seen[node.get()] = true;
      if (node->data == node->synced) continue;
      switch (mode) {
        case CutMode::kLoseUnsynced: node->data = node->synced; break;
        case CutMode::kKeepUnsynced: break;
        case CutMode::kEmptyUnsynced: node->data.clear(); break;
        case CutMode::kTornUnsynced: node->data.resize(node->data.size() / 2); break;
        case CutMode::kCorruptUnsynced:
          if (!node->data.empty()) node->data[node->data.size() / 2] ^= 0x10;
          break;
      }
      node->synced = node->data;
    }
    durable_names_ = names_;
    handles_.clear();
    down_ = false;
    cut_at_ = 0;
    steps_ = 0;
  }

  // Test setup and inspection, outside the step count: a durable file.
  void SetFile(const std::string& path, const std::string& content) {
    auto node = std::make_shared<Inode>();
    node->data = node->synced = content;
    names_[path] = node;
    durable_names_[path] = node;
  }
  bool Has(const std::string& path) const { return names_.count(path) != 0; }
  std::string Get(const std::string& path) const {
    auto it = names_.find(path);
    return it == names_.end() ? std::string() : it->second->data;
  }
  std::vector<std::string> Paths() const {
    std::vector<std::string> out;
    for (const auto& [p, n] : names_) out.push_back(p);
    return out;
  }

  Expected<int> OpenForWrite(const std::string& path) override {
    if (auto st = Step("open " + path); !st) return st.error();
    auto it = names_.find(path);
    std::shared_ptr<Inode> node;
    if (it == names_.end()) {
      node = std::make_shared<Inode>();
      names_[path] = node;
    } else {
      node = it->second;
      node->data.clear();  // O_TRUNC
    }
    handles_[++next_handle_] = node;
    return next_handle_;
  }

  Status Write(int handle, std::string_view data) override {
    if (auto st = Step("write " + std::to_string(data.size())); !st) return st;
    auto it = handles_.find(handle);
    if (it == handles_.end()) return Error("write: bad handle", EBADF);
    it->second->data.append(data);
    return Status::Ok();
  }

  Status Fsync(int handle) override {
    if (auto st = Step("fsync"); !st) return st;
    auto it = handles_.find(handle);
    if (it == handles_.end()) return Error("fsync: bad handle", EBADF);
    it->second->synced = it->second->data;
    return Status::Ok();
  }

  Status Close(int handle) override {
    if (auto st = Step("close"); !st) return st;
    if (handles_.erase(handle) == 0) return Error("close: bad handle", EBADF);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (auto st = Step("rename " + from + " " + to); !st) return st;
    auto it = names_.find(from);
    if (it == names_.end()) return Error("rename '" + from + "': No such file", ENOENT);
    names_[to] = it->second;
    names_.erase(from);
    return Status::Ok();
  }

  Status FsyncDir(const std::string& dir) override {
    if (auto st = Step("fsyncdir " + dir); !st) return st;
    for (auto it = durable_names_.begin(); it != durable_names_.end();) {
      it = fs::DirName(it->first) == dir ? durable_names_.erase(it) : std::next(it);
    }
    for (const auto& [path, node] : names_) {
      if (fs::DirName(path) == dir) durable_names_[path] = node;
    }
    return Status::Ok();
  }

  Status Unlink(const std::string& path) override {
    if (auto st = Step("unlink " + path); !st) return st;
    names_.erase(path);
    return Status::Ok();
  }

  Expected<std::string> Read(const std::string& path, size_t max_bytes) override {
    if (down_) return Error("power is off", EIO);
    auto it = names_.find(path);
    if (it == names_.end()) return Error("reading '" + path + "': No such file or directory", ENOENT);
    if (it->second->data.size() > max_bytes) return Error("reading '" + path + "': too large", EFBIG);
    return it->second->data;
  }

  Status MakeDirs(const std::string&) override {
    if (down_) return Error("power is off", EIO);
    return Status::Ok();  // directories are implicit here
  }

 private:
  struct Inode {
    std::string data;    // what reads see
    std::string synced;  // what the disk holds for sure
  };

  Status Step(const std::string& what) {
    if (down_) return Error("power is off", EIO);
    ++steps_;
    if (steps_ == cut_at_) {
      down_ = true;
      log_.push_back("CUT at " + what);
      return Error("power cut at step " + std::to_string(steps_) + " (" + what + ")", EIO);
    }
    if (steps_ == fail_at_) {
      fail_at_ = 0;
      log_.push_back("FAIL at " + what);
      return Error("injected failure at step " + std::to_string(steps_) + " (" + what + ")", fail_errno_);
    }
    log_.push_back(what);
    return Status::Ok();
  }

  std::map<std::string, std::shared_ptr<Inode>> names_;          // the running system's view
  std::map<std::string, std::shared_ptr<Inode>> durable_names_;  // directory entries on disk
  std::map<int, std::shared_ptr<Inode>> handles_;
  int next_handle_ = 2;
  int steps_ = 0;
  int cut_at_ = 0;
  int fail_at_ = 0;
  int fail_errno_ = EIO;
  bool down_ = false;
  std::vector<std::string> log_;
};

}  // namespace elemental::slots::testing
