#include "mta_sts/policy_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "base/temp_dir_test_util.h"
#include "mta_sts/policy_file.h"

namespace sluice::mta_sts {
namespace {

using namespace std::chrono_literals;
using Status = Lookup::Status;

const std::string kEnforce = "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n";
const std::string kTesting = "version: STSv1\nmode: testing\nmx: *.example.org\nmax_age: 3600\n";

// TXT answers from a table the test changes; a name missing from it has no record (NXDOMAIN).
struct TxtLookups : net::MailLookups {
  std::map<std::string, net::DnsRecords> txt_answers;
  net::DnsAnswer mx(const std::string&) const override { return {}; }
  net::DnsAnswer addresses(const std::string&) const override { return {}; }
  net::DnsRecords txt(const std::string& name) const override {
    auto it = txt_answers.find(name);
    if (it != txt_answers.end()) return it->second;
    return net::DnsRecords{net::DnsAnswer::Status::NxDomain, "NXDOMAIN", false, {}, {}};
  }
  void publish(const std::string& name, std::vector<std::string> records) {
    txt_answers[name] = net::DnsRecords{net::DnsAnswer::Status::Ok, "", false, std::move(records), {}};
  }
  void fail_lookups(const std::string& name) {
    txt_answers[name] = net::DnsRecords{net::DnsAnswer::Status::TempFail, "SERVFAIL", false, {}, {}};
  }
};

// The policy host: answers what the test says, counting fetches.
struct FakeHost {
  Result<std::string, FetchFailure> answer = std::string();
  std::atomic<int> fetches{0};
  std::chrono::milliseconds delay{0};
  PolicyFetcher fetcher() {
    return [this](const std::string& domain) -> Result<std::string, FetchFailure> {
      EXPECT_EQ(domain, "example.org");
      ++fetches;
      if (delay.count()) std::this_thread::sleep_for(delay);
      return answer;
    };
  }
};

class PolicyStoreTest : public ::testing::Test {
 protected:
  TxtLookups dns;
  FakeHost host;
  test_util::TempDir dir{"sluice-mta-sts"};
  std::chrono::system_clock::time_point clock = std::chrono::system_clock::time_point(1'800'000'000s);

  std::unique_ptr<PolicyStore> make_store() {
    return std::make_unique<PolicyStore>(dns, host.fetcher(), StoreSettings{dir.path() / "mta-sts", 300s},
                                         [this] { return clock; });
  }
  void publish(const std::string& id) { dns.publish("_mta-sts.example.org", {"v=STSv1; id=" + id + ";"}); }
};

TEST_F(PolicyStoreTest, NoTxtRecordIsNoPolicyWithoutAFetch) {
  auto store = make_store();
  Lookup result = store->lookup("example.org");
  EXPECT_EQ(result.status, Status::NoPolicy);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(host.fetches, 0);
  dns.publish("_mta-sts.example.org", {"v=spf1 -all"});  // TXT records, none of them STS
  EXPECT_EQ(store->lookup("example.org").status, Status::NoPolicy);
  EXPECT_EQ(host.fetches, 0);
}

TEST_F(PolicyStoreTest, MalformedOrTwoTxtRecordsAreNoPolicyAndSaySo) {
  auto store = make_store();
  dns.publish("_mta-sts.example.org", {"v=STSv1; id=a b"});
  Lookup bad = store->lookup("example.org");
  EXPECT_EQ(bad.status, Status::NoPolicy);
  EXPECT_EQ(bad.error,
            "_mta-sts.example.org: malformed TXT record \"v=STSv1; id=a b\": id \"a b\" is not 1 to 32 "
            "letters and digits");
  dns.publish("_mta-sts.example.org", {"v=STSv1; id=1", "v=STSv1; id=2"});
  EXPECT_EQ(store->lookup("example.org").error, "_mta-sts.example.org: more than one \"v=STSv1\" TXT record");
  EXPECT_EQ(host.fetches, 0);
}

TEST_F(PolicyStoreTest, FetchesANewIdOnceAndThenUsesTheCache) {
  auto store = make_store();
  publish("1");
  host.answer = kEnforce;
  Lookup first = store->lookup("Example.ORG.");
  ASSERT_EQ(first.status, Status::Found) << first.error;
  EXPECT_FALSE(first.from_cache);
  EXPECT_EQ(first.policy->mode, Mode::Enforce);
  EXPECT_EQ(first.policy->id, "1");
  EXPECT_EQ(first.policy->text, kEnforce);
  Lookup second = store->lookup("example.org");
  EXPECT_EQ(second.status, Status::Found);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(host.fetches, 1);

  publish("2");  // a new id: fetched again, and the new policy replaces the old
  host.answer = kTesting;
  Lookup third = store->lookup("example.org");
  EXPECT_FALSE(third.from_cache);
  EXPECT_EQ(third.policy->mode, Mode::Testing);
  EXPECT_EQ(third.policy->id, "2");
  EXPECT_EQ(host.fetches, 2);
}

TEST_F(PolicyStoreTest, FetchFailureWithoutCacheIsFailedWithItsType) {
  auto store = make_store();
  publish("1");
  host.answer = fail(FetchFailure{std::string(kWebPkiInvalid), "certificate verify failed"});
  Lookup result = store->lookup("example.org");
  EXPECT_EQ(result.status, Status::Failed);
  EXPECT_FALSE(result.policy);
  EXPECT_EQ(result.failure_type, "sts-webpki-invalid");
  EXPECT_EQ(result.error, "certificate verify failed");
}

TEST_F(PolicyStoreTest, InvalidPolicyIsStsPolicyInvalid) {
  auto store = make_store();
  publish("1");
  host.answer = std::string("version: STSv1\nmode: enforce\nmax_age: 10\n");
  Lookup result = store->lookup("example.org");
  EXPECT_EQ(result.status, Status::Failed);
  EXPECT_EQ(result.failure_type, "sts-policy-invalid");
  EXPECT_EQ(result.error, "the policy of mta-sts.example.org is invalid: no mx");
}

TEST_F(PolicyStoreTest, FailedFetchIsNotRepeatedForAWhile) {
  auto store = make_store();
  publish("1");
  host.answer = fail(FetchFailure{std::string(kFetchError), "could not connect"});
  EXPECT_EQ(store->lookup("example.org").status, Status::Failed);
  EXPECT_EQ(store->lookup("example.org").error, "could not connect");
  EXPECT_EQ(host.fetches, 1);
  clock += 301s;
  host.answer = kEnforce;
  EXPECT_EQ(store->lookup("example.org").status, Status::Found);
  EXPECT_EQ(host.fetches, 2);
}

TEST_F(PolicyStoreTest, FailedRefreshUsesTheCachedPolicyAndSaysWhy) {
  auto store = make_store();
  publish("1");
  host.answer = kEnforce;
  ASSERT_EQ(store->lookup("example.org").status, Status::Found);
  publish("2");
  host.answer = fail(FetchFailure{std::string(kFetchError), "timed out"});
  Lookup result = store->lookup("example.org");
  EXPECT_EQ(result.status, Status::Found);
  EXPECT_TRUE(result.from_cache);
  EXPECT_EQ(result.policy->id, "1");
  EXPECT_EQ(result.error, "timed out");
  EXPECT_EQ(result.failure_type, "sts-policy-fetch-error");
}

TEST_F(PolicyStoreTest, CachedPolicyOutlivesItsTxtRecordButNotItsMaxAge) {
  auto store = make_store();
  publish("1");
  host.answer = kEnforce;  // max_age 86400
  ASSERT_EQ(store->lookup("example.org").status, Status::Found);

  dns.txt_answers.erase("_mta-sts.example.org");  // record gone (or suppressed by an attacker)
  Lookup gone = store->lookup("example.org");
  EXPECT_EQ(gone.status, Status::Found);
  EXPECT_TRUE(gone.from_cache);

  dns.fail_lookups("_mta-sts.example.org");
  Lookup tempfail = store->lookup("example.org");
  EXPECT_EQ(tempfail.status, Status::Found);
  EXPECT_EQ(tempfail.error, "TXT lookup of _mta-sts.example.org failed: SERVFAIL");

  clock += 86400s;  // expired
  Lookup expired = store->lookup("example.org");
  EXPECT_EQ(expired.status, Status::NoPolicy);
  EXPECT_EQ(expired.error, "TXT lookup of _mta-sts.example.org failed: SERVFAIL");
  dns.txt_answers.erase("_mta-sts.example.org");
  EXPECT_EQ(store->lookup("example.org").status, Status::NoPolicy);
  EXPECT_EQ(host.fetches, 1);
}

TEST_F(PolicyStoreTest, ExpiredPolicyWithTheSameIdIsFetchedAgain) {
  auto store = make_store();
  publish("1");
  host.answer = kTesting;  // max_age 3600
  ASSERT_EQ(store->lookup("example.org").status, Status::Found);
  clock += 3599s;
  EXPECT_TRUE(store->lookup("example.org").from_cache);
  clock += 1s;
  EXPECT_FALSE(store->lookup("example.org").from_cache);
  EXPECT_EQ(host.fetches, 2);
}

TEST_F(PolicyStoreTest, CacheOnDiskIsReadAfterARestart) {
  publish("7");
  host.answer = kEnforce;
  ASSERT_EQ(make_store()->lookup("example.org").status, Status::Found);
  ASSERT_TRUE(std::filesystem::exists(dir.path() / "mta-sts" / "example.org.json"));

  host.answer = fail(FetchFailure{std::string(kFetchError), "down"});
  auto restarted = make_store();
  Lookup result = restarted->lookup("example.org");
  EXPECT_EQ(result.status, Status::Found);
  EXPECT_TRUE(result.from_cache);
  EXPECT_EQ(result.error, "");  // same id: no fetch was needed
  EXPECT_EQ(result.policy->mx, std::vector<std::string>{"mx.example.org"});
  EXPECT_EQ(result.policy->text, kEnforce);
  EXPECT_EQ(host.fetches, 1);

  clock += 86400s;  // fetched_at survived the restart too: expired now
  EXPECT_EQ(make_store()->lookup("example.org").status, Status::Failed);
}

TEST_F(PolicyStoreTest, DamagedCacheFileIsIgnored) {
  std::filesystem::create_directories(dir.path() / "mta-sts");
  std::ofstream(dir.path() / "mta-sts" / "example.org.json") << "{\"id\": \"1\"";
  publish("1");
  host.answer = kEnforce;
  Lookup result = make_store()->lookup("example.org");
  EXPECT_EQ(result.status, Status::Found);
  EXPECT_FALSE(result.from_cache);
  EXPECT_EQ(host.fetches, 1);
  auto reread = read_cache_file(dir.path() / "mta-sts", "example.org");  // and rewritten whole
  ASSERT_TRUE(reread.ok()) << reread.error().message;
  EXPECT_EQ((*reread)->policy.id, "1");
}

TEST_F(PolicyStoreTest, ConcurrentLookupsMakeOneFetch) {
  auto store = make_store();
  publish("1");
  host.answer = kEnforce;
  host.delay = 50ms;
  std::vector<std::thread> threads;
  std::atomic<int> found{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] { found += store->lookup("example.org").status == Status::Found; });
  for (auto& t : threads) t.join();
  EXPECT_EQ(found, 8);
  EXPECT_EQ(host.fetches, 1);
}

TEST(MtaStsCacheFile, OnlyPlainDomainNamesGetAFile) {
  EXPECT_EQ(cache_file_name("example.org"), "example.org.json");
  EXPECT_EQ(cache_file_name("../etc/passwd"), std::nullopt);
  EXPECT_EQ(cache_file_name("a/b"), std::nullopt);
  EXPECT_EQ(cache_file_name(""), std::nullopt);
  EXPECT_EQ(cache_file_name("Example.org"), std::nullopt);  // the store lowers names first
}

}  // namespace
}  // namespace sluice::mta_sts
