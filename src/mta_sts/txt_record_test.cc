#include "mta_sts/txt_record.h"

#include <gtest/gtest.h>

namespace sluice::mta_sts {
namespace {

std::string id_of(const std::string& record) {
  auto id = parse_txt_record(record);
  EXPECT_TRUE(id.ok()) << record << ": " << id.error().message;
  return id.ok() ? *id : "";
}

std::string record_error_of(const std::string& record) {
  auto id = parse_txt_record(record);
  EXPECT_FALSE(id.ok()) << record << " gave id " << (id.ok() ? *id : "");
  return id.ok() ? "" : id.error().message;
}

TEST(MtaStsTxtRecord, ReadsTheId) {
  EXPECT_EQ(id_of("v=STSv1; id=20160831085700Z;"), "20160831085700Z");
  EXPECT_EQ(id_of("v=STSv1; id=20160831085700Z"), "20160831085700Z");  // the final ';' is optional
  EXPECT_EQ(id_of("v=STSv1;id=abc"), "abc");
  EXPECT_EQ(id_of("v=STSv1 ;\tid=abc ; "), "abc");
  EXPECT_EQ(id_of("v=STSv1; id=" + std::string(32, '9')), std::string(32, '9'));
}

TEST(MtaStsTxtRecord, IgnoresExtensions) { EXPECT_EQ(id_of("v=STSv1; ext_1=value!; id=x1; a.b-c = v"), "x1"); }

TEST(MtaStsTxtRecord, RefusesBadRecords) {
  EXPECT_EQ(record_error_of("v=STSv1;"), "no id");
  EXPECT_EQ(record_error_of("v=STSv1"), "no id");
  EXPECT_EQ(record_error_of("v=STSv2; id=1"), "does not start with \"v=STSv1\"");
  EXPECT_EQ(record_error_of("V=STSv1; id=1"), "does not start with \"v=STSv1\"");  // %s: case-sensitive
  EXPECT_EQ(record_error_of("v=STSv1; id="), "id \"\" is not 1 to 32 letters and digits");
  EXPECT_EQ(record_error_of("v=STSv1; id=" + std::string(33, 'a')),
            "id \"" + std::string(33, 'a') + "\" is not 1 to 32 letters and digits");
  EXPECT_EQ(record_error_of("v=STSv1; id=2016-08-31"), "id \"2016-08-31\" is not 1 to 32 letters and digits");
  EXPECT_EQ(record_error_of("v=STSv1; id=1; id=2"), "more than one id");
  EXPECT_EQ(record_error_of("v=STSv1; id =1"), "white space around the \"=\" of id");
  EXPECT_EQ(record_error_of("v=STSv1 id=1"), "fields must be separated by \";\"");
  EXPECT_EQ(record_error_of("v=STSv1;; id=1"), "empty field between two \";\"");
  EXPECT_EQ(record_error_of("v=STSv1; id=1; novalue"), "field \"novalue\" has no \"=\"");
  EXPECT_EQ(record_error_of("v=STSv1; id=1; -x=1"), "malformed field \"-x=1\"");
  EXPECT_EQ(record_error_of("v=STSv1; id=1; x=a=b"), "malformed field \"x=a=b\"");
  EXPECT_EQ(record_error_of("v=STSv1; id=1\n; x=1"),
            "id \"1\\x0A\" is not 1 to 32 letters and digits");  // shown escaped
}

TEST(MtaStsTxtRecord, ExactlyOneStsRecordAmongTheTxtRecords) {
  auto one = parse_txt_records({"v=spf1 -all", "v=STSv1; id=abc;", "v=STSv10; id=z"});
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(*one, "abc");

  auto none = parse_txt_records({"v=spf1 -all"});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(parse_txt_records({}).ok());
  EXPECT_FALSE(parse_txt_records({})->has_value());

  auto two = parse_txt_records({"v=STSv1; id=a;", "v=STSv1; id=b;"});
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().message, "more than one \"v=STSv1\" TXT record");

  auto bad = parse_txt_records({"v=STSv1; id=a b;"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "malformed TXT record \"v=STSv1; id=a b;\": id \"a b\" is not 1 to 32 letters and digits");
}

TEST(MtaStsTxtRecord, NameOfTheRecord) { EXPECT_EQ(txt_record_name("example.org"), "_mta-sts.example.org"); }

}  // namespace
}  // namespace sluice::mta_sts
