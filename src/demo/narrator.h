// Everything `sluice demo` prints: headings, narration, quoted artefacts and PASS/FAIL checks,
// in colour on a terminal; and the shaping of what it quotes.
#pragma once
#include <fmt/color.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::demo {

/// A check that failed in a way the later steps cannot recover from.
struct StepFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Narrator {
 public:
  Narrator();

  void title(std::string_view text);
  void heading(int step, std::string_view text);
  void say(std::string_view text);
  /// A command line the administrator would type.
  void command(std::string_view line);
  void quote(const std::vector<std::string>& lines);
  void quote_text(std::string_view text);
  /// Prints PASS or FAIL and `what`, counts it, and returns `ok`.
  bool check(bool ok, std::string_view what);
  /// check(), and StepFailed when it failed.
  void require(bool ok, std::string_view what);
  int passed() const { return passed_; }
  int failed() const { return failed_; }

 private:
  void print(fmt::text_style style, std::string_view text);
  bool color_;
  int passed_ = 0;
  int failed_ = 0;
};

/// The lines that differ between two renderings of the same template, as "-old" / "+new" (all of
/// `after`, each line prefixed by a space, when the line counts differ).
std::vector<std::string> line_diff(const std::string& before, const std::string& after);
/// A transcript with each multi-line reply cut to its first and last line (the EHLO keyword list
/// is noise here).
std::vector<std::string> shorten_replies(const std::vector<std::string>& transcript);
/// The last `n` lines.
std::vector<std::string> last(std::vector<std::string> lines, std::size_t n);

}  // namespace sluice::demo
