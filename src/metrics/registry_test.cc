#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace sluice::metrics {
namespace {

std::string scrape_text(const Registry& registry) {
  TextWriter out;
  registry.write(out);
  return out.take();
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Registry, ChildrenByLabelValuesUnderOneHelpAndType) {
  Registry registry;
  auto& handshakes = registry.counter("t_handshakes_total", "handshakes", {"version", "result"});
  handshakes.with({"TLS1_0", "refused"}).inc();
  handshakes.with({"TLS1_0", "refused"}).inc(2);
  handshakes.with({"TLS1_3", "ok"}).inc();
  auto& open = registry.gauge("t_sessions", "open", {"connector"});
  open.with({"Default"}).add(3);
  open.with({"Default"}).sub();
  const std::string text = scrape_text(registry);
  EXPECT_EQ(occurrences(text, "# HELP t_handshakes_total "), 1u) << text;
  EXPECT_EQ(occurrences(text, "# TYPE t_handshakes_total counter\n"), 1u) << text;
  EXPECT_NE(text.find("t_handshakes_total{version=\"TLS1_0\",result=\"refused\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_handshakes_total{version=\"TLS1_3\",result=\"ok\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE t_sessions gauge\nt_sessions{connector=\"Default\"} 2\n"), std::string::npos) << text;
}

TEST(Registry, AFamilyWithoutChildrenStillHasItsHelpAndType) {
  Registry registry;
  registry.counter("t_failures_total", "failures", {"mechanism"});
  EXPECT_EQ(scrape_text(registry), "# HELP t_failures_total failures\n# TYPE t_failures_total counter\n");
}

TEST(Registry, ANameRegisteredTwiceIsRefused) {
  Registry registry;
  registry.counter("t_x_total", "x");
  EXPECT_THROW(registry.gauge("t_x_total", "x again"), std::logic_error);
}

TEST(Registry, HistogramBucketsIncludeTheirUpperBound) {
  Registry registry;
  // Binary fractions: the sum is exact.
  auto& h = registry.histogram("t_seconds", "latency", {0.0625, 0.125});
  h.with({}).observe(0.0625);  // le="0.0625" includes 0.0625
  h.with({}).observe(0.09375);
  h.with({}).observe(3);
  const std::string text = scrape_text(registry);
  EXPECT_NE(text.find("t_seconds_bucket{le=\"0.0625\"} 1\n"
                      "t_seconds_bucket{le=\"0.125\"} 2\n"
                      "t_seconds_bucket{le=\"+Inf\"} 3\n"
                      "t_seconds_sum 3.15625\n"
                      "t_seconds_count 3\n"),
            std::string::npos)
      << text;
}

TEST(Registry, CountersAddUpAcrossThreads) {
  Registry registry;
  auto& family = registry.counter("t_events_total", "events", {"thread"});
  auto& histogram = registry.histogram("t_h", "h", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        family.with({"shared"}).inc();
        histogram.with({}).observe(0.5);
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(family.with({"shared"}).value(), 40000u);
  EXPECT_EQ(histogram.with({}).counts(), (std::vector<std::uint64_t>{40000, 0}));
  EXPECT_DOUBLE_EQ(histogram.with({}).sum(), 20000);
}

}  // namespace
}  // namespace sluice::metrics
