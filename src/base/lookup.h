// Fixed tables read by column: one row per enum value (or OpenSSL NID) carrying every name it
// has, instead of one switch per name. Printing and parsing read the same rows, so a name can
// not be added to one direction and forgotten in the other.
#pragma once
#include <cstddef>
#include <optional>
#include <string_view>

namespace sluice {

/// The `to` column of the first row of `table` whose `from` column equals `key`; nullopt when no
/// row has it (the caller says what an unknown key means).
template <typename Row, std::size_t N, typename From, typename To, typename Key>
constexpr std::optional<To> lookup(const Row (&table)[N], From Row::*from, const Key& key, To Row::*to) {
  for (const Row& row : table)
    if (row.*from == key) return row.*to;
  return std::nullopt;
}

/// A row of the common two-column table: a value and its one name.
template <typename Key>
struct Named {
  Key key;
  std::string_view name;
};

template <typename Key, std::size_t N>
constexpr std::optional<std::string_view> name_of(const Named<Key> (&table)[N], Key key) {
  return lookup(table, &Named<Key>::key, key, &Named<Key>::name);
}

template <typename Key, std::size_t N>
constexpr std::optional<Key> key_named(const Named<Key> (&table)[N], std::string_view name) {
  return lookup(table, &Named<Key>::name, name, &Named<Key>::key);
}

}  // namespace sluice
