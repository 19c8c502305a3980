#include "inbound/incoming_message.h"

#include <algorithm>
#include <utility>

namespace sluice::inbound {

IncomingMessage::IncomingMessage(std::string received, std::size_t header_limit,
                                 std::function<void(std::string&)> edit_header)
    : header_(std::move(received)),
      received_size_(header_.size()),
      header_limit_(std::max<std::size_t>(header_limit, 1)),
      edit_header_(std::move(edit_header)) {}

void IncomingMessage::pass_on(std::string_view bytes) {
  pending_.append(bytes);
  size_ += bytes.size();
}

void IncomingMessage::add(std::string_view content) {
  if (!header_complete_ && !content.empty()) {
    const std::size_t client = header_.size() - received_size_;
    const std::size_t take = std::min(content.size(), header_limit_ - client);
    // The empty line may straddle two pieces; our Received: header's CRLF counts as the line
    // break before the client's first line, so content that begins with CRLF has no header fields.
    const std::size_t search_from = std::max(header_.size() - std::min<std::size_t>(header_.size(), 3),
                                             received_size_ - std::min<std::size_t>(received_size_, 2));
    header_.append(content.substr(0, take));
    content.remove_prefix(take);
    const std::size_t blank = header_.find("\r\n\r\n", search_from);
    if (blank != std::string::npos) {
      complete_header(blank + 2);
    } else if (header_.size() - received_size_ >= header_limit_) {
      // Over the limit: the header section ends with the last whole line inside it.
      const std::size_t last = header_.rfind("\r\n");
      complete_header(last != std::string::npos && last + 2 > received_size_ ? last + 2 : header_.size());
    }
  }
  if (header_complete_) pass_on(content);
}

void IncomingMessage::finish() {
  if (!header_complete_) complete_header(header_.size());
}

void IncomingMessage::complete_header(std::size_t end) {
  header_complete_ = true;
  std::string rest = header_.substr(end);
  header_.resize(end);
  if (edit_header_) {
    std::string client = header_.substr(received_size_);
    edit_header_(client);
    header_.replace(received_size_, std::string::npos, client);
  }
  pass_on(header_);
  pass_on(rest);
}

}  // namespace sluice::inbound
