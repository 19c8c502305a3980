#include "queue/spool.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "base/atomic_file.h"

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;

std::string message_name(std::string_view id) { return std::string(id) + ".eml"; }
std::string envelope_name(std::string_view id) { return std::string(id) + ".json"; }

bool is_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();  // strict mode throws on malformed UTF-8
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// Addresses decide where mail goes; envelope_to_json would replace bad bytes, so refuse them
// here rather than deliver to an address the client never gave.
std::error_code check_envelope(const Envelope& envelope) {
  if (!valid_queue_id(envelope.id)) return std::make_error_code(std::errc::invalid_argument);
  if (!is_utf8(envelope.mail_from)) return std::make_error_code(std::errc::illegal_byte_sequence);
  for (const auto& recipient : envelope.recipients) {
    if (!is_utf8(recipient.address)) return std::make_error_code(std::errc::illegal_byte_sequence);
  }
  return {};
}

std::error_code unlink_file(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) return {errno, std::system_category()};
  return {};
}

std::optional<std::string> read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(out).str();
}

bool is_regular(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(fs::symlink_status(path, ec));
}

}  // namespace

Spool::Spool(std::filesystem::path dir) : Spool(std::move(dir), FileOpener{}) {}

Spool::Spool(std::filesystem::path dir, FileOpener open_new)
    : dir_(std::move(dir)), open_new_(std::move(open_new)) {
  if (fs::create_directories(dir_)) {
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    // The new directory's own entry must be durable too, or the first message could vanish
    // together with it.
    if (std::error_code ec = fsync_parent_directory(dir_)) {
      throw fs::filesystem_error("cannot fsync the spool's parent directory", dir_, ec);
    }
  } else if (!fs::is_directory(dir_)) {
    throw fs::filesystem_error("spool path is not a directory", dir_,
                               std::make_error_code(std::errc::not_a_directory));
  }
}

std::error_code Spool::store(const Envelope& envelope, std::string_view message) {
  if (std::error_code ec = check_envelope(envelope)) return ec;
  // Content first: the envelope's rename is the commit point, so it must find the content on disk.
  if (std::error_code ec =
          write_file_durably(dir_, message_name(envelope.id), message, open_new_)) {
    unlink_file(dir_ / message_name(envelope.id));  // in place if only the dir fsync failed
    return ec;
  }
  if (std::error_code ec = write_file_durably(dir_, envelope_name(envelope.id),
                                              envelope_to_json(envelope), open_new_)) {
    // The client will hear 4xx, so nothing of this message may stay: not even an envelope
    // whose directory fsync failed after its rename.
    unlink_file(dir_ / envelope_name(envelope.id));
    unlink_file(dir_ / message_name(envelope.id));
    fsync_directory(dir_);
    return ec;
  }
  return {};
}

std::error_code Spool::update(const Envelope& envelope) {
  if (std::error_code ec = check_envelope(envelope)) return ec;
  // Writing an envelope for a removed message would commit a message without content.
  if (!is_regular(dir_ / message_name(envelope.id))) {
    return std::make_error_code(std::errc::no_such_file_or_directory);
  }
  return write_file_durably(dir_, envelope_name(envelope.id), envelope_to_json(envelope),
                            open_new_);
}

std::optional<Envelope> Spool::load_envelope(const std::string& id) const {
  if (!valid_queue_id(id)) return std::nullopt;
  auto text = read_whole_file(dir_ / envelope_name(id));
  if (!text) return std::nullopt;
  auto envelope = envelope_from_json(*text);
  // A file whose content names another message was copied or edited by hand; trust neither.
  if (!envelope || envelope->id != id) return std::nullopt;
  return envelope;
}

std::optional<std::string> Spool::load_message(const std::string& id) const {
  if (!valid_queue_id(id)) return std::nullopt;
  return read_whole_file(dir_ / message_name(id));
}

std::error_code Spool::remove(const std::string& id) {
  if (!valid_queue_id(id)) return std::make_error_code(std::errc::invalid_argument);
  std::error_code envelope_error = unlink_file(dir_ / envelope_name(id));
  if (envelope_error && envelope_error != std::errc::no_such_file_or_directory) {
    return envelope_error;  // still committed; the content must stay with it
  }
  std::error_code message_error = unlink_file(dir_ / message_name(id));
  if (message_error && message_error != std::errc::no_such_file_or_directory) return message_error;
  if (envelope_error && message_error) return envelope_error;  // nothing by that id
  return fsync_directory(dir_);
}

std::vector<std::string> Spool::list() const {
  std::vector<std::pair<std::chrono::system_clock::time_point, std::string>> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (path.extension() != ".json") continue;
    std::string id = path.stem().string();
    if (!valid_queue_id(id) || !is_regular(path)) continue;
    // An unreadable envelope is still a committed message: list it first so that the caller
    // notices (load_envelope fails) instead of it sitting unseen.
    auto envelope = load_envelope(id);
    found.emplace_back(envelope ? envelope->received : std::chrono::system_clock::time_point::min(),
                       std::move(id));
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> ids;
  ids.reserve(found.size());
  for (auto& entry : found) ids.push_back(std::move(entry.second));
  return ids;
}

std::size_t Spool::recover() {
  std::vector<fs::path> doomed;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (!is_regular(path)) continue;
    if (name.rfind(".tmp.", 0) == 0) {
      doomed.push_back(path);
    } else if (path.extension() == ".eml" && valid_queue_id(path.stem().string()) &&
               !fs::exists(fs::symlink_status(dir_ / envelope_name(path.stem().string())))) {
      doomed.push_back(path);
    }
  }
  std::size_t removed = 0;
  for (const auto& path : doomed) {
    if (!unlink_file(path)) ++removed;
  }
  if (removed > 0) fsync_directory(dir_);
  return removed;
}

}  // namespace sluice::queue
