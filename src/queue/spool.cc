#include "queue/spool.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <unordered_set>
#include <utility>

#include "base/atomic_file.h"
#include "base/utf8.h"

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;

// Enough recycled files for a few seconds of mail at full speed; each holds at most
// FilePool::kMaxKeptSize of disk until it is overwritten.
constexpr std::size_t kPoolCapacity = 4096;

std::string message_name(std::string_view id) { return std::string(id) + ".eml"; }
std::string envelope_name(std::string_view id) { return std::string(id) + ".json"; }

// Addresses decide where mail goes; envelope_to_json would replace bad bytes, so refuse them
// here rather than deliver to an address the client never gave.
std::error_code check_envelope(const Envelope& envelope) {
  if (!valid_queue_id(envelope.id)) return std::make_error_code(std::errc::invalid_argument);
  if (!is_valid_utf8(envelope.mail_from)) return std::make_error_code(std::errc::illegal_byte_sequence);
  for (const auto& recipient : envelope.recipients) {
    if (!is_valid_utf8(recipient.address)) return std::make_error_code(std::errc::illegal_byte_sequence);
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
    : dir_(std::move(dir)),
      open_new_(std::move(open_new)),
      dir_sync_(std::make_unique<DirectorySync>(dir_)),
      pool_(std::make_unique<FilePool>(dir_, kPoolCapacity)) {
  if (fs::create_directories(dir_)) {
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    // The new directory's own entry must be durable too, or the first message could vanish
    // together with it.
    if (std::error_code ec = fsync_parent_directory(dir_)) {
      throw fs::filesystem_error("cannot fsync the spool's parent directory", dir_, ec);
    }
  } else if (!fs::is_directory(dir_)) {
    throw fs::filesystem_error("spool path is not a directory", dir_, std::make_error_code(std::errc::not_a_directory));
  }
}

Result<fs::path, std::error_code> Spool::write_synced(std::string_view name, std::string_view data) {
  if (!open_new_) {
    while (auto reused = pool_->take()) {
      std::error_code ec = overwrite_file_synced(*reused, data);
      if (!ec) return std::move(*reused);
      unlink_file(*reused);
      // Gone (someone cleaned up): try the next. Anything else (a full disk) would fail a new
      // file just the same.
      if (ec != std::errc::no_such_file_or_directory) return fail(ec);
    }
  }
  fs::path file;
  if (std::error_code ec = write_temp_file_synced(dir_, name, data, open_new_, &file)) return fail(ec);
  return file;
}

Result<void, std::error_code> Spool::store(const Envelope& envelope, std::string_view message, MessageDraft* draft) {
  StoreRequest request{&envelope, message, {}, draft};
  store_batch(std::span<StoreRequest>(&request, 1));
  return request.result;
}

MessageDraft Spool::draft(std::string_view id) {
  // A test FileOpener must see every file created, so no pool then (as write_synced).
  return MessageDraft(dir_, std::string(id), open_new_ ? nullptr : pool_.get(), open_new_);
}

void Spool::store_batch(std::span<StoreRequest> requests, const ParallelRunner& run) {
  const std::size_t n = requests.size();
  std::vector<std::string> json(n);
  // temps[2i] is message i's content written under a temporary name, temps[2i+1] its envelope.
  // failed[i] is message i's error, handed out as its result at the end.
  std::vector<Result<fs::path, std::error_code>> temps(2 * n);
  std::vector<std::error_code> failed(n);
  for (std::size_t i = 0; i < n; ++i) {
    failed[i] = check_envelope(*requests[i].envelope);
    if (!failed[i]) json[i] = envelope_to_json(*requests[i].envelope);
  }
  auto write_one = [&](std::size_t k) {
    auto& r = requests[k / 2];
    if (failed[k / 2]) return;
    try {
      if (k % 2 == 0 && r.draft) {
        temps[k] = r.draft->seal(r.message);
      } else if (k % 2 == 0) {
        temps[k] = write_synced(message_name(r.envelope->id), r.message);
      } else {
        temps[k] = write_synced(envelope_name(r.envelope->id), json[k / 2]);
      }
    } catch (const std::bad_alloc&) {
      temps[k] = fail(std::make_error_code(std::errc::not_enough_memory));
    }
  };
  // The slow part: 2n file fsyncs, which the disk serves faster side by side than in a row.
  if (run) {
    run(2 * n, write_one);
  } else {
    for (std::size_t k = 0; k < 2 * n; ++k) write_one(k);
  }
  // A draft's file is the draft's to remove (it may go back to the pool): see the end.
  auto drop_temps = [&](std::size_t i) {
    for (std::size_t k = requests[i].draft ? 2 * i + 1 : 2 * i; k < 2 * i + 2; ++k)
      if (temps[k] && !temps[k]->empty()) unlink_file(*temps[k]);
  };
  // Both names into place, content first, then one directory fsync for the whole batch: it
  // makes every rename durable before any 250. A crash before it ends may keep any subset of
  // the renames, and recover() removes a content without its envelope and an envelope without
  // its content; a message that kept both was never acknowledged, so its client retries (a
  // duplicate at worst, never a loss).
  bool any_committed = false;
  for (std::size_t i = 0; i < n; ++i) {
    auto& r = requests[i];
    if (failed[i]) continue;
    if (!temps[2 * i] || !temps[2 * i + 1]) {
      failed[i] = !temps[2 * i] ? temps[2 * i].error() : temps[2 * i + 1].error();
      drop_temps(i);
      continue;
    }
    const fs::path content = dir_ / message_name(r.envelope->id);
    if (::rename(temps[2 * i]->c_str(), content.c_str()) != 0) {
      failed[i] = {errno, std::system_category()};
      drop_temps(i);
      continue;
    }
    if (r.draft) r.draft->release();
    if (::rename(temps[2 * i + 1]->c_str(), (dir_ / envelope_name(r.envelope->id)).c_str()) != 0) {
      failed[i] = {errno, std::system_category()};
      unlink_file(*temps[2 * i + 1]);
      unlink_file(content);
      continue;
    }
    any_committed = true;
  }
  if (std::error_code ec = any_committed ? dir_sync_->sync() : std::error_code()) {
    // The clients will hear 4xx, so nothing of these messages may stay.
    for (std::size_t i = 0; i < n; ++i) {
      if (failed[i]) continue;
      failed[i] = ec;
      unlink_file(dir_ / envelope_name(requests[i].envelope->id));
      unlink_file(dir_ / message_name(requests[i].envelope->id));
    }
    dir_sync_->sync();  // best effort
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (failed[i] && requests[i].draft) requests[i].draft->discard();
    requests[i].result = as_result(failed[i]);
  }
}

Result<void, std::error_code> Spool::update(const Envelope& envelope) {
  if (std::error_code ec = check_envelope(envelope)) return fail(ec);
  // Writing an envelope for a removed message would commit a message without content.
  if (!is_regular(dir_ / message_name(envelope.id))) {
    return fail(std::make_error_code(std::errc::no_such_file_or_directory));
  }
  fs::path temp;
  if (std::error_code ec =
          write_temp_file_synced(dir_, envelope_name(envelope.id), envelope_to_json(envelope), open_new_, &temp)) {
    return fail(ec);
  }
  if (::rename(temp.c_str(), (dir_ / envelope_name(envelope.id)).c_str()) != 0) {
    std::error_code ec{errno, std::system_category()};
    unlink_file(temp);
    return fail(ec);
  }
  return as_result(dir_sync_->sync());
}

Result<Envelope> Spool::load_envelope(const std::string& id) const {
  if (!valid_queue_id(id)) return fail("not a queue id");
  auto text = read_whole_file(dir_ / envelope_name(id));
  if (!text) return fail("missing or unreadable");
  auto envelope = envelope_from_json(*text);
  if (!envelope) return fail("not a valid envelope (docs/queue.md, format 1)");
  // A file whose content names another message was copied or edited by hand; trust neither.
  if (envelope->id != id) return fail("its content is that of message " + envelope->id);
  return std::move(*envelope);
}

std::optional<std::string> Spool::load_message(const std::string& id) const {
  if (!valid_queue_id(id)) return std::nullopt;
  return read_whole_file(dir_ / message_name(id));
}

Result<void, std::error_code> Spool::remove(const std::string& id) { return remove_batch({id}).front(); }

std::vector<Result<void, std::error_code>> Spool::remove_batch(const std::vector<std::string>& ids) {
  // No fsync: a removal a crash undoes, whole or in part, only brings back mail that was already
  // delivered (a duplicate, the window every MTA has) or half a message, which recover() removes.
  // The envelope goes first, so a reader never sees a committed message without its content.
  std::vector<Result<void, std::error_code>> results(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!valid_queue_id(ids[i])) {
      results[i] = fail(std::make_error_code(std::errc::invalid_argument));
      continue;
    }
    auto envelope = pool_->recycle(dir_ / envelope_name(ids[i]));
    if (!envelope && envelope.error() != std::errc::no_such_file_or_directory) {
      results[i] = fail(envelope.error());  // still committed; the content must stay with it
      continue;
    }
    auto content = pool_->recycle(dir_ / message_name(ids[i]));
    if (!content && content.error() != std::errc::no_such_file_or_directory) {
      results[i] = fail(content.error());
    } else if (!content && !envelope) {
      results[i] = fail(std::make_error_code(std::errc::no_such_file_or_directory));  // nothing by that id
    }
  }
  return results;
}

std::vector<std::string> Spool::ids() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (path.extension() != ".json") continue;
    std::string id = path.stem().string();
    // The entry's type comes from the directory read itself: no stat per message.
    if (valid_queue_id(id) && it->symlink_status(ec).type() == fs::file_type::regular) ids.push_back(std::move(id));
    ec.clear();
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> Spool::list() const {
  std::vector<std::pair<std::chrono::system_clock::time_point, std::string>> found;
  for (auto& id : ids()) {
    // An unreadable envelope is still a committed message: list it first so that the caller
    // notices (load_envelope fails) instead of it sitting unseen.
    auto envelope = load_envelope(id);
    found.emplace_back(envelope ? envelope->received : std::chrono::system_clock::time_point::min(), std::move(id));
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> ids;
  ids.reserve(found.size());
  for (auto& entry : found) ids.push_back(std::move(entry.second));
  return ids;
}

std::size_t Spool::recover() {
  // One directory read, the file types from the read itself: no stat per file, so that a restart
  // with 100,000 queued messages (200,000 files) is quick.
  std::vector<fs::path> doomed;
  std::unordered_set<std::string> names;
  std::vector<fs::path> regular;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    names.insert(it->path().filename().string());  // any type: its partner's presence counts
    std::error_code type_error;
    if (it->symlink_status(type_error).type() == fs::file_type::regular) regular.push_back(it->path());
  }
  for (const auto& path : regular) {
    const std::string name = path.filename().string();
    const std::string id = path.stem().string();
    if (FilePool::is_pool_name(name)) {
      if (!pool_->adopt(path)) unlink_file(path);
    } else if (name.rfind(".tmp.", 0) == 0) {
      doomed.push_back(path);
    } else if (path.extension() == ".eml" && valid_queue_id(id) && !names.count(envelope_name(id))) {
      doomed.push_back(path);
    } else if (path.extension() == ".json" && valid_queue_id(id) && !names.count(message_name(id))) {
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
