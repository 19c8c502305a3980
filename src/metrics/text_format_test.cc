#include "metrics/text_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace sluice::metrics {
namespace {

TEST(TextFormat, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\nd"),
            R"(a\\b\"c\nd)");
  // UTF-8 and other punctuation pass through as they are.
  EXPECT_EQ(escape_label_value("Relais für Drucker {x}, ü"), "Relais für Drucker {x}, ü");
}

TEST(TextFormat, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(escape_help("say \"hi\"\\now\nthen"), "say \"hi\"\\\\now\\nthen");
}

TEST(TextFormat, ValuesAreIntegersWithoutExponentAndSpecialsAsPrometheusReadsThem) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(-2), "-2");
  EXPECT_EQ(format_value(12345678901.0), "12345678901");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(0.0005), "0.0005");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(TextFormat, FamilyThenSamplesWithEscapedLabels) {
  TextWriter out;
  out.family("sluice_tls_handshakes_total", "TLS handshakes\nby result", Type::Counter);
  out.sample("sluice_tls_handshakes_total", {{"connector", "Printers \"old\""}, {"version", "TLS1_0"}}, 7);
  out.sample("sluice_tls_handshakes_total", {}, 1);
  EXPECT_EQ(out.text(),
            "# HELP sluice_tls_handshakes_total TLS handshakes\\nby result\n"
            "# TYPE sluice_tls_handshakes_total counter\n"
            "sluice_tls_handshakes_total{connector=\"Printers \\\"old\\\"\",version=\"TLS1_0\"} 7\n"
            "sluice_tls_handshakes_total 1\n");
}

TEST(TextFormat, AFamilyBegunTwiceInOneScrapeIsRefused) {
  TextWriter out;
  out.family("sluice_sessions", "open sessions", Type::Gauge);
  EXPECT_THROW(out.family("sluice_sessions", "again", Type::Gauge), std::logic_error);
  out.family("sluice_sessions_total", "another family", Type::Counter);
}

TEST(TextFormat, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  TextWriter out;
  out.family("sluice_spool_write_seconds", "spool writes", Type::Histogram);
  // 2 observations up to 0.005, 1 in (0.005, 0.1], none in (0.1, 1], 1 above 1.
  out.histogram("sluice_spool_write_seconds", {{"disk", "a"}}, {0.005, 0.1, 1}, {2, 1, 0, 1}, 2.5);
  EXPECT_EQ(out.text(),
            "# HELP sluice_spool_write_seconds spool writes\n"
            "# TYPE sluice_spool_write_seconds histogram\n"
            "sluice_spool_write_seconds_bucket{disk=\"a\",le=\"0.005\"} 2\n"
            "sluice_spool_write_seconds_bucket{disk=\"a\",le=\"0.1\"} 3\n"
            "sluice_spool_write_seconds_bucket{disk=\"a\",le=\"1\"} 3\n"
            "sluice_spool_write_seconds_bucket{disk=\"a\",le=\"+Inf\"} 4\n"
            "sluice_spool_write_seconds_sum{disk=\"a\"} 2.5\n"
            "sluice_spool_write_seconds_count{disk=\"a\"} 4\n");
}

}  // namespace
}  // namespace sluice::metrics
