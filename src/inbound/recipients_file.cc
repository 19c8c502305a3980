#include "inbound/recipients_file.h"

#include <fmt/format.h>

namespace sluice::inbound {
namespace {

std::string recipient_list_counts(const config::RecipientList& list) {
  return fmt::format("{} addresses, {} whole domains", list.addresses.size(), list.whole_domains.size());
}

}  // namespace

Result<std::unique_ptr<RecipientsFile>> RecipientsFile::open(const std::filesystem::path& path, Clock clock,
                                                             std::chrono::steady_clock::duration check_interval) {
  auto loaded = ReloadingFile<config::RecipientList>::open(
      path, &config::load_recipient_list,
      {"recipients file", recipient_list_counts,
       [](const config::RecipientList& list) { return fmt::format("list ({})", recipient_list_counts(list)); }},
      std::move(clock), check_interval);
  if (!loaded) return fail(loaded.error());
  return std::unique_ptr<RecipientsFile>(new RecipientsFile(std::move(*loaded)));
}

const config::RecipientList& RecipientsFile::list() { return *file_.current(); }

}  // namespace sluice::inbound
