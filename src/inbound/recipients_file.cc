#include "inbound/recipients_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "base/logging.h"

namespace sluice::inbound {

Result<RecipientsFile::Stamp> RecipientsFile::stamp_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(std::strerror(errno));
  return Stamp{st.st_ino, st.st_size, std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

Result<std::unique_ptr<RecipientsFile>> RecipientsFile::open(const std::filesystem::path& path, Clock clock,
                                                             std::chrono::steady_clock::duration check_interval) {
  if (!clock) clock = [] { return std::chrono::steady_clock::now(); };
  std::unique_ptr<RecipientsFile> file(new RecipientsFile(path, std::move(clock), check_interval));
  // The stamp before the read: a change during the read is then seen at the next check.
  auto stamp = stamp_of(path);
  if (!stamp) return fail(path.string() + ": cannot read: " + stamp.error().message);
  auto loaded = config::load_recipient_list(path);
  if (!loaded) return fail(loaded.error());
  file->seen_ = *stamp;
  file->list_ = std::move(*loaded);
  file->loads_ = 1;
  file->next_check_ = file->clock_() + check_interval;
  return file;
}

const config::RecipientList& RecipientsFile::list() {
  const auto now = clock_();
  if (now >= next_check_) {
    next_check_ = now + interval_;
    reload_if_changed();
  }
  return list_;
}

void RecipientsFile::reload_if_changed() {
  auto stamp = stamp_of(path_);
  if (!stamp) {
    // Gone or unreadable for a moment (an editor saving, a deployment): keep serving what we had.
    if (seen_.size != -1)
      log_warning("recipients file {}: {}; keeping the previous list ({} addresses, {} whole domains)", path_.string(),
                  stamp.error().message, list_.addresses.size(), list_.whole_domains.size());
    seen_ = Stamp{};
    return;
  }
  if (*stamp == seen_) return;
  seen_ = *stamp;
  auto loaded = config::load_recipient_list(path_);
  if (!loaded) {
    log_warning("recipients file not reloaded: {}; keeping the previous list ({} addresses, {} whole domains)",
                loaded.error().message, list_.addresses.size(), list_.whole_domains.size());
    return;
  }
  list_ = std::move(*loaded);
  ++loads_;
  log_info("recipients file {} reloaded: {} addresses, {} whole domains", path_.string(), list_.addresses.size(),
           list_.whole_domains.size());
}

}  // namespace sluice::inbound
