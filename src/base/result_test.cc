#include "base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <variant>

namespace sluice {
namespace {

Result<int> half(int n) {
  if (n % 2) return fail("odd number " + std::to_string(n));
  return n / 2;
}

Result<void> check(bool good) {
  if (!good) return fail("not good");
  return {};
}

TEST(Result, HoldsTheValue) {
  auto r = half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 4);
  EXPECT_EQ(r.value(), 4);
  EXPECT_EQ(r.value_or(-1), 4);
}

TEST(Result, HoldsTheError) {
  auto r = half(7);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().message, "odd number 7");
  EXPECT_EQ(r.value_or(-1), -1);
  EXPECT_THROW((void)r.value(), std::bad_variant_access);
}

TEST(Result, MovesOnlyValuesAndArrow) {
  Result<std::unique_ptr<std::string>> r = std::make_unique<std::string>("abc");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get()->size(), 3u);
  auto owned = std::move(r).value();
  EXPECT_EQ(*owned, "abc");
}

TEST(Result, VoidSpecialisation) {
  EXPECT_TRUE(check(true).ok());
  auto r = check(false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "not good");
}

/// An error type of the caller's own, as smtp::Reply is for the SMTP paths (base/ knows no SMTP).
struct Refusal {
  int code = 0;
  std::string text;
};

TEST(Result, ErrorOfTheCallersOwnType) {
  auto refuse = [](bool yes) -> Result<std::string, Refusal> {
    if (yes) return fail(Refusal{550, "No such user"});
    return std::string("250 OK");
  };
  auto r = refuse(true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, 550);
  EXPECT_EQ(r.error().text, "No such user");
  EXPECT_EQ(*refuse(false), "250 OK");
}

TEST(Result, AsResultKeepsAnErrorCodeAndTakesZeroForSuccess) {
  EXPECT_TRUE(as_result(std::error_code()));
  auto r = as_result(std::make_error_code(std::errc::no_space_on_device));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::no_space_on_device);
}

}  // namespace
}  // namespace sluice
