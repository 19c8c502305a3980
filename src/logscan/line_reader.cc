#include "logscan/line_reader.h"

#include <algorithm>
#include <cstring>

namespace sluice::logscan {

LineReader::LineReader(ByteSource& source, std::size_t block_size, std::size_t max_line)
    : source_(source), block_size_(block_size), max_line_(std::max(max_line, block_size)) {
  buf_.resize(block_size_ * 2);
}

bool LineReader::fill() {
  if (eof_) return false;
  std::size_t from = extending_ ? rec_start_ : pos_;
  if (from > 0) {
    // Keep the unfinished line (or record) at the front; the rest is free for the next read.
    std::memmove(buf_.data(), buf_.data() + from, end_ - from);
    end_ -= from;
    pos_ -= from;
    rec_start_ -= std::min(rec_start_, from);
  }
  if (buf_.size() - end_ < block_size_) {
    if (buf_.size() >= max_line_ + block_size_) return false;  // the line is too long; caller cuts it
    buf_.resize(std::min(buf_.size() * 2, max_line_ + block_size_));
  }
  long n = source_.read(buf_.data() + end_, buf_.size() - end_);
  if (n <= 0) {
    eof_ = true;
    failed_ = n < 0;
    return false;
  }
  end_ += static_cast<std::size_t>(n);
  return true;
}

std::string_view LineReader::take(std::size_t eol, std::size_t next_start) {
  std::size_t len = eol - pos_;
  const char* start = buf_.data() + pos_;
  if (len > 0 && start[len - 1] == '\r') --len;
  pos_ = next_start;
  return {start, len};
}

bool LineReader::next(std::string_view& line) {
  truncated_ = too_long_ = false;
  std::size_t scan = pos_;  // where the search for the next LF resumes
  while (true) {
    const char* base = buf_.data();
    const void* nl = scan < end_ ? std::memchr(base + scan, '\n', end_ - scan) : nullptr;
    if (nl) {
      std::size_t eol = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
      if (skipping_) {
        // The tail of a line that was cut at max_line: drop it.
        skipping_ = false;
        pos_ = eol + 1;
        scan = pos_;
        continue;
      }
      line_number_ = ++lines_;
      rec_start_ = pos_;
      line = take(eol, eol + 1);
      return true;
    }
    if (skipping_) {
      // Still inside a line that was cut: what was read of it is dropped unseen.
      pos_ = scan = end_;
    }
    std::size_t done = scan - pos_;
    if (!fill()) {
      if (pos_ >= end_) return false;
      line_number_ = ++lines_;
      rec_start_ = pos_;
      if (!eof_) {
        // Cut at max_line: return what we have and skip the rest of this line.
        too_long_ = true;
        skipping_ = true;
      } else {
        truncated_ = true;
      }
      line = take(end_, end_);
      return true;
    }
    scan = pos_ + done;
  }
}

bool LineReader::extend(std::string_view& record) {
  if (skipping_ || truncated_ || too_long_) return false;
  // A refill moves the record to the front of the buffer, or into a larger one: when the record
  // cannot grow, `record` is pointed at where it now is (the caller reads it as it was).
  const std::size_t length = record.size();
  auto unchanged = [&] {
    record = std::string_view(buf_.data() + rec_start_, length);
    return false;
  };
  std::size_t scan = pos_;
  while (true) {
    const char* base = buf_.data();
    const void* nl = scan < end_ ? std::memchr(base + scan, '\n', end_ - scan) : nullptr;
    if (nl) {
      std::size_t eol = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
      ++lines_;
      pos_ = rec_start_;
      record = take(eol, eol + 1);
      return true;
    }
    std::size_t done = scan - rec_start_;
    extending_ = true;
    bool more = fill();
    extending_ = false;
    if (!more) {
      if (!eof_ || pos_ >= end_) return unchanged();  // too long, or nothing after the record
      ++lines_;
      truncated_ = true;
      pos_ = rec_start_;
      record = take(end_, end_);
      return true;
    }
    scan = rec_start_ + done;
  }
}

}  // namespace sluice::logscan
