#include "smtp/dkim_sign.h"

#include <fmt/format.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "base/base64.h"

namespace sluice::smtp {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

/// Runs of SP/HTAB as one SP, CR and LF dropped (unfolding), none at the ends.
std::string dkim_collapse_whitespace(std::string_view text) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (c == '\r' || c == '\n') continue;
    if (is_wsp(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string dkim_sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("dkim: SHA-256 failed");
  return std::string(reinterpret_cast<char*>(digest), size);
}

struct DkimHeaderField {
  std::string_view name, value;  // value: everything after the colon, folds included, without the final CRLF
};

/// The header fields of a CRLF message, in order; `body` gets what follows the empty line.
std::vector<DkimHeaderField> dkim_split_message(std::string_view message, std::string_view& body) {
  std::vector<DkimHeaderField> fields;
  std::size_t at = 0;
  body = {};
  while (at < message.size()) {
    if (message.substr(at).starts_with("\r\n")) {
      body = message.substr(at + 2);
      break;
    }
    std::size_t end = at;
    // A field runs until a CRLF not followed by whitespace (a continuation line).
    while (true) {
      end = message.find("\r\n", end);
      if (end == std::string_view::npos) end = message.size();
      if (end + 2 < message.size() && is_wsp(message[end + 2])) {
        end += 2;
        continue;
      }
      break;
    }
    const std::string_view line = message.substr(at, end - at);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) fields.push_back({line.substr(0, colon), line.substr(colon + 1)});
    at = std::min(end + 2, message.size());
  }
  return fields;
}

bool dkim_same_name(std::string_view a, std::string_view b) {
  while (!a.empty() && is_wsp(a.back())) a.remove_suffix(1);
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return std::tolower(unsigned(x)) == std::tolower(unsigned(y)); });
}

std::string dkim_rsa_sha256(EVP_PKEY* key, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    throw std::runtime_error("dkim: RSA signing could not start");
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    throw std::runtime_error("dkim: RSA signing failed");
  signature.resize(size);
  return signature;
}

}  // namespace

std::string dkim_relaxed_header(std::string_view name, std::string_view value) {
  std::string out = dkim_collapse_whitespace(name);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out + ":" + dkim_collapse_whitespace(value) + "\r\n";
}

std::string dkim_relaxed_body(std::string_view body) {
  std::string out;
  std::size_t at = 0;
  while (at < body.size()) {
    std::size_t end = body.find("\r\n", at);
    const bool terminated = end != std::string_view::npos;
    if (!terminated) end = body.size();
    std::string line;
    bool pending_space = false;
    for (char c : body.substr(at, end - at)) {
      if (is_wsp(c)) {
        pending_space = true;
        continue;
      }
      if (pending_space) line += ' ';  // leading whitespace stays (as one space): only trailing goes
      pending_space = false;
      line += c;
    }
    out += line + "\r\n";
    at = terminated ? end + 2 : end;
  }
  while (out.ends_with("\r\n\r\n")) out.resize(out.size() - 2);
  if (out == "\r\n") out.clear();
  return out;
}

Result<DkimSigner> DkimSigner::from_pem(std::string_view pem, std::string domain, std::string selector) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())), BIO_free);
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!raw) return fail("is not a PEM private key");
  std::shared_ptr<EVP_PKEY> key(raw, EVP_PKEY_free);
  if (!EVP_PKEY_is_a(raw, "RSA")) return fail("is not an RSA key (DKIM here signs with rsa-sha256)");
  // RFC 8301 3.2: verifiers need not accept keys under 1024 bits.
  if (EVP_PKEY_get_bits(raw) < 1024)
    return fail(fmt::format("is an RSA key of {} bits; DKIM needs at least 1024", EVP_PKEY_get_bits(raw)));
  return DkimSigner(std::move(key), std::move(domain), std::move(selector));
}

Result<DkimSigner> DkimSigner::load(const std::filesystem::path& pem_file, std::string domain, std::string selector) {
  std::ifstream in(pem_file, std::ios::binary);
  if (!in) return fail(fmt::format("{} cannot be read", pem_file.string()));
  std::stringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  auto signer = from_pem(pem, std::move(domain), std::move(selector));
  std::fill(pem.begin(), pem.end(), '\0');
  if (!signer) return fail(fmt::format("{} {}", pem_file.string(), signer.error().message));
  return signer;
}

std::string DkimSigner::sign(std::string_view message, std::chrono::system_clock::time_point now) const {
  std::string_view body;
  const std::vector<DkimHeaderField> fields = dkim_split_message(message, body);
  std::string names, signed_headers;
  for (std::string_view wanted : kDkimSignedHeaders) {
    // RFC 6376 5.4.2: of several instances the last is signed first; ours have one each.
    const auto found = std::find_if(fields.rbegin(), fields.rend(),
                                    [&](const DkimHeaderField& f) { return dkim_same_name(f.name, wanted); });
    if (found == fields.rend()) continue;
    names += (names.empty() ? "" : ":") + std::string(wanted);
    signed_headers += dkim_relaxed_header(found->name, found->value);
  }
  const long long t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // Folded between tags so that no line grows long; relaxed canonicalisation unfolds again.
  const std::string header = fmt::format(
      "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={}; s={};\r\n\tt={}; h={};\r\n\tbh={};\r\n\tb=", domain_,
      selector_, t, names, base64_encode(dkim_sha256(dkim_relaxed_body(body))));
  // RFC 6376 3.7: the signature header itself is hashed last, with b= empty and no final CRLF.
  std::string canonical_self = dkim_relaxed_header("DKIM-Signature", header.substr(header.find(':') + 1));
  canonical_self.resize(canonical_self.size() - 2);
  const std::string b = base64_encode(dkim_rsa_sha256(key_.get(), signed_headers + canonical_self));
  return header + b + "\r\n" + std::string(message);
}

}  // namespace sluice::smtp
