#include "inbound/recipients_file.h"

#include "base/logging.h"

namespace sluice::inbound {

Result<std::unique_ptr<RecipientsFile>> RecipientsFile::open(const std::filesystem::path& path, Clock clock,
                                                             std::chrono::steady_clock::duration check_interval) {
  std::unique_ptr<RecipientsFile> file(new RecipientsFile(path, std::move(clock), check_interval));
  if (auto marked = file->watch_.mark(); !marked) return fail(marked.error());
  auto loaded = config::load_recipient_list(path);
  if (!loaded) return fail(loaded.error());
  file->list_ = std::move(*loaded);
  file->loads_ = 1;
  return file;
}

const config::RecipientList& RecipientsFile::list() {
  reload_if_changed();
  return list_;
}

void RecipientsFile::reload_if_changed() {
  auto changed = watch_.changed();
  if (!changed) {
    // Gone or unreadable for a moment (an editor saving, a deployment): keep serving what we had.
    log_warning("recipients file {}: {}; keeping the previous list ({} addresses, {} whole domains)",
                watch_.path().string(), changed.error().message, list_.addresses.size(), list_.whole_domains.size());
    return;
  }
  if (!*changed) return;
  auto loaded = config::load_recipient_list(watch_.path());
  if (!loaded) {
    log_warning("recipients file not reloaded: {}; keeping the previous list ({} addresses, {} whole domains)",
                loaded.error().message, list_.addresses.size(), list_.whole_domains.size());
    return;
  }
  list_ = std::move(*loaded);
  ++loads_;
  log_info("recipients file {} reloaded: {} addresses, {} whole domains", watch_.path().string(),
           list_.addresses.size(), list_.whole_domains.size());
}

}  // namespace sluice::inbound
