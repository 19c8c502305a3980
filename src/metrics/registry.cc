#include "metrics/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace sluice::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double value) {
  // A bucket holds the values up to and including its bound (Prometheus's "le").
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

FamilyBase::FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}

Labels FamilyBase::labels_of(const std::vector<std::string>& values) const {
  Labels labels;
  for (std::size_t i = 0; i < label_names_.size(); ++i)
    labels.emplace_back(label_names_[i], i < values.size() ? values[i] : std::string());
  return labels;
}

template <class Metric>
void Family<Metric>::write(TextWriter& out) const {
  // The children's addresses are taken under the lock, their values read and formatted after it.
  std::vector<std::pair<const std::vector<std::string>*, const Metric*>> children;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [values, child] : children_) children.emplace_back(&values, child.get());
  }
  out.family(name_, help_, type_);
  for (const auto& [values, child] : children) {
    if constexpr (std::is_same_v<Metric, Histogram>)
      out.histogram(name_, labels_of(*values), child->bounds(), child->counts(), child->sum());
    else
      out.sample(name_, labels_of(*values), static_cast<double>(child->value()));
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <class F>
F& Registry::add(std::unique_ptr<F> family) {
  std::lock_guard lock(mutex_);
  for (const auto& existing : families_)
    if (existing->name() == family->name())
      throw std::logic_error(fmt::format("metric family {} registered twice", family->name()));
  F& added = *family;
  families_.push_back(std::move(family));
  return added;
}

Family<Counter>& Registry::counter(std::string name, std::string help, std::vector<std::string> label_names) {
  return add(
      std::make_unique<Family<Counter>>(std::move(name), std::move(help), Type::Counter, std::move(label_names)));
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, std::vector<std::string> label_names) {
  return add(std::make_unique<Family<Gauge>>(std::move(name), std::move(help), Type::Gauge, std::move(label_names)));
}

Family<Histogram>& Registry::histogram(std::string name, std::string help, std::vector<double> bounds,
                                       std::vector<std::string> label_names) {
  return add(std::make_unique<Family<Histogram>>(std::move(name), std::move(help), Type::Histogram,
                                                 std::move(label_names), std::move(bounds)));
}

void Registry::write(TextWriter& out) const {
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) family->write(out);
}

}  // namespace sluice::metrics
