// A file the gateway holds loaded while running (the users file, the recipients file): loaded at
// start-up, loaded again when FileWatch sees it changed on disk (at most one stat() per check
// interval). A file that went missing or no longer loads keeps what was loaded before, and the
// reason is logged as a warning.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "base/file_watch.h"
#include "base/logging.h"
#include "base/result.h"

namespace sluice {

template <typename T>
class ReloadingFile {
 public:
  using Loader = std::function<Result<T>(const std::filesystem::path&)>;
  /// How the log speaks of the file: its `name` ("users file"), what a reload `loaded` ("3 users")
  /// and what a failed one `kept` ("users (3)", after "keeping the previous ").
  struct Wording {
    std::string name;
    std::function<std::string(const T&)> loaded;
    std::function<std::string(const T&)> kept;
  };

  /// Loads `path` with `load`; the error (unreadable, or what `load` refuses) is a start-up error.
  static Result<ReloadingFile> open(std::filesystem::path path, Loader load, Wording wording, SteadyClock clock,
                                    std::chrono::steady_clock::duration check_interval) {
    ReloadingFile file(FileWatch(std::move(path), std::move(clock), check_interval), std::move(load),
                       std::move(wording));
    if (auto marked = file.watch_.mark(); !marked) return fail(marked.error());
    auto loaded = file.load_(file.watch_.path());
    if (!loaded) return fail(loaded.error());
    file.current_ = std::make_shared<const T>(std::move(*loaded));
    file.loads_ = 1;
    return file;
  }

  /// What the file holds now, first loaded again when it changed. The old value lives on in the
  /// hands of whoever still holds it.
  std::shared_ptr<const T> current() {
    auto changed = watch_.changed();
    if (!changed) {
      // Gone or unreadable for a moment (an editor saving, a deployment): keep serving what we had.
      log_warning("{} {}: {}; keeping the previous {}", wording_.name, watch_.path().string(), changed.error().message,
                  wording_.kept(*current_));
    } else if (*changed) {
      auto loaded = load_(watch_.path());
      if (!loaded) {
        log_warning("{} not reloaded: {}; keeping the previous {}", wording_.name, loaded.error().message,
                    wording_.kept(*current_));
      } else {
        current_ = std::make_shared<const T>(std::move(*loaded));
        ++loads_;
        log_info("{} {} reloaded: {}", wording_.name, watch_.path().string(), wording_.loaded(*current_));
      }
    }
    return current_;
  }

  /// Successful loads so far (1 after open()).
  std::size_t loads() const { return loads_; }

 private:
  ReloadingFile(FileWatch watch, Loader load, Wording wording)
      : watch_(std::move(watch)), load_(std::move(load)), wording_(std::move(wording)) {}

  FileWatch watch_;
  Loader load_;
  Wording wording_;
  std::shared_ptr<const T> current_;
  std::size_t loads_ = 0;
};

}  // namespace sluice
