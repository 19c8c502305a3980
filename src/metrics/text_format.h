// The Prometheus text exposition format, version 0.0.4: what a Prometheus server (and anything
// that scrapes like one) reads from GET /metrics. Written by hand rather than with prometheus-cpp:
// the format is a few lines of escaping and number formatting, and sluice needs gauges computed at
// scrape time on the network thread, which prometheus-cpp's registry does not offer without a
// custom Collectable; a library (and its runtime package) for this was not worth it.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::metrics {

/// The Content-Type of a scrape answer.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

/// Label names and values, in the order they are written.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Type { Counter, Gauge, Histogram };

/// A label value as the format quotes it: backslash, double quote and line feed escaped.
std::string escape_label_value(std::string_view value);
/// A HELP text: backslash and line feed escaped (quotes stay as they are).
std::string escape_help(std::string_view help);
/// A sample value: integers without exponent or fraction ("3", "-2"), other numbers in the
/// shortest form that reads back exactly, "+Inf", "-Inf", "NaN".
std::string format_value(double value);

/// One scrape's text. Each family is begun once (its HELP and TYPE lines), then its samples
/// follow; beginning a family twice throws std::logic_error, since Prometheus rejects a scrape
/// that repeats a family's HELP or TYPE.
class TextWriter {
 public:
  void family(std::string_view name, std::string_view help, Type type);
  /// `name` is the family's name, or for a histogram its name with _bucket, _sum or _count.
  void sample(std::string_view name, const Labels& labels, double value);
  /// A histogram's samples: `bounds` the upper bounds of the buckets (ascending, without +Inf),
  /// `counts` the observations in each bucket and one more for those above the last bound (not
  /// cumulative: they are summed here). _count is their total.
  void histogram(std::string_view name, const Labels& labels, const std::vector<double>& bounds,
                 const std::vector<std::uint64_t>& counts, double sum);
  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::set<std::string, std::less<>> families_;
};

}  // namespace sluice::metrics
