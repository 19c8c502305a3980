// For the OAuth client's tests: a scripted token endpoint (records each request, answers with the
// next scripted answer) and an XOAUTH2 configuration whose client secret file is in a temp dir.
#pragma once
#include <sys/stat.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <string>
#include <vector>

#include "base/temp_dir_test_util.h"
#include "config/config.h"
#include "outbound/client_credentials_grant.h"
#include "outbound/http_post.h"

namespace sluice::outbound::test_util {

inline constexpr char kTestSecret[] = "Zx8Q~s3cret.VALUE-that-must-never-show";

inline HttpResponse token_answer(const std::string& token, long expires_in) {
  return {200, "{\"token_type\":\"Bearer\",\"expires_in\":" + std::to_string(expires_in) +
                   ",\"ext_expires_in\":" + std::to_string(expires_in) + ",\"access_token\":\"" + token + "\"}"};
}

class FakeTokenEndpoint {
 public:
  /// Answers in order; once they are used up, the last one again.
  std::deque<Result<HttpResponse>> answers;
  std::vector<HttpRequest> requests;

  HttpPost post() {
    return [this](const HttpRequest& request) -> Result<HttpResponse> {
      requests.push_back(request);
      if (answers.empty()) return fail("no answer scripted");
      Result<HttpResponse> answer = answers.front();
      if (answers.size() > 1) answers.pop_front();
      return answer;
    };
  }

  /// The value of form field `name` in request `index`, or "(absent)".
  std::string field(std::size_t index, const std::string& name) const {
    for (const auto& [n, v] : requests.at(index).form)
      if (n == name) return v;
    return "(absent)";
  }
};

/// A clock the test moves by hand.
struct FakeClock {
  std::chrono::system_clock::time_point now =
      std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  SystemClock function() {
    return [this] { return now; };
  }
};

inline void write_file(const std::filesystem::path& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

/// mechanism xoauth2, tenant contoso, a client secret in `dir`/secret (mode 0600).
inline config::SendAuth secret_auth(const std::filesystem::path& dir) {
  config::SendAuth auth;
  auth.mechanism = config::SendAuthMechanism::XOAuth2;
  auth.tenant = "contoso.onmicrosoft.com";
  auth.client_id = "11111111-2222-3333-4444-555555555555";
  auth.username = "scanner@contoso.com";
  auth.client_secret_file = dir / "secret";
  write_file(auth.client_secret_file, std::string(kTestSecret) + "\n");
  return auth;
}

}  // namespace sluice::outbound::test_util
