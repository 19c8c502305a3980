// Counters, gauges and histograms that any thread may update without waiting: each is atomic
// (relaxed increments; a scrape reads whatever is current). A family holds one of them per label
// set; finding the child of a label set takes the family's mutex for a map lookup only (never
// across I/O or formatting), so a hot path that repeats the same labels can keep the reference it
// got: children are never removed, their addresses stay valid for the registry's life.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "metrics/text_format.h"

namespace sluice::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void add(std::int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n = 1) { value_.fetch_sub(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

/// Observations in fixed buckets (upper bounds, ascending; +Inf is implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  /// Per bucket (not cumulative), the last one above every bound.
  std::vector<std::uint64_t> counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

/// One metric name and its children by label values.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  /// HELP, TYPE, and one sample (or histogram) per child, in label order.
  virtual void write(TextWriter& out) const = 0;

 protected:
  Labels labels_of(const std::vector<std::string>& values) const;
  std::string name_, help_;
  Type type_;
  std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
};

template <class Metric>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)), bounds_(std::move(bounds)) {}

  /// The child for these label values (as many as label names; created at first use).
  Metric& with(const std::vector<std::string>& values) {
    std::lock_guard lock(mutex_);
    auto& child = children_[values];
    if (!child) child = make();
    return *child;
  }
  void write(TextWriter& out) const override;

 private:
  std::unique_ptr<Metric> make() const {
    if constexpr (std::is_same_v<Metric, Histogram>)
      return std::make_unique<Histogram>(bounds_);
    else
      return std::make_unique<Metric>();
  }
  std::vector<double> bounds_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

/// The families of one process (or of one test). A name registered twice throws std::logic_error.
class Registry {
 public:
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<double> bounds,
                               std::vector<std::string> label_names = {});
  /// Every family, in registration order.
  void write(TextWriter& out) const;

 private:
  template <class F>
  F& add(std::unique_ptr<F> family);
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
};

}  // namespace sluice::metrics
