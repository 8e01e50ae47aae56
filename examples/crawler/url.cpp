#include "url.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace crawler {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlString {
  char* s = nullptr;
  ~CurlString() { curl_free(s); }
};

std::string_view trim(std::string_view s) {
  // HTML strips ASCII whitespace around an href before parsing it.
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<std::string> get_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
  CurlString out;
  if (curl_url_get(u, part, &out.s, flags) != CURLUE_OK || !out.s) return std::nullopt;
  return std::string(out.s);
}

// Applies the normalisation rules to a parsed handle and returns the URL string.
std::optional<std::string> finish(CURLU* u) {
  auto scheme = get_part(u, CURLUPART_SCHEME);
  if (!scheme || (*scheme != "http" && *scheme != "https")) return std::nullopt;
  auto host = get_part(u, CURLUPART_HOST);
  if (!host || host->empty()) return std::nullopt;
  if (get_part(u, CURLUPART_ZONEID)) return std::nullopt;  // [fe80::1%eth0]: this machine's link only
  std::string lower = *host;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  // A host name of ASCII letters, digits, '-', '_' and dots, or an IPv6 address in
  // brackets. curl lets other bytes through ("%", raw UTF-8); an international name is
  // taken only in its punycode form ("xn--..."): libcurl 7.88's CURLU_PUNYCODE fails.
  const bool ipv6 = lower.front() == '[';
  if (!std::all_of(lower.begin(), lower.end(), [ipv6](unsigned char c) {
        return std::isalnum(c) || c == '.' || (ipv6 ? c == ':' || c == '[' || c == ']' : c == '-' || c == '_');
      }))
    return std::nullopt;
  if (lower != *host && curl_url_set(u, CURLUPART_HOST, lower.c_str(), 0) != CURLUE_OK) return std::nullopt;
  curl_url_set(u, CURLUPART_FRAGMENT, nullptr, 0);
  curl_url_set(u, CURLUPART_USER, nullptr, 0);
  curl_url_set(u, CURLUPART_PASSWORD, nullptr, 0);
  auto url = get_part(u, CURLUPART_URL, CURLU_NO_DEFAULT_PORT);
  // curl spells out a numeric IPv4 host in its short forms ("4" is 0.0.0.4, "0x7f.1" is
  // 127.0.0.1), but not one that came percent-encoded ("%34"), which it decodes only after:
  // parse such a URL once more, so that normalising a normalised URL gives it back.
  const bool maybe_ipv4_number = !ipv6 && std::all_of(lower.begin(), lower.end(), [](unsigned char c) {
    return std::isxdigit(c) || c == 'x' || c == '.';
  });
  if (!url || !maybe_ipv4_number) return url;
  UrlHandle again(curl_url());
  if (!again || curl_url_set(again.get(), CURLUPART_URL, url->c_str(), 0) != CURLUE_OK) return std::nullopt;
  return get_part(again.get(), CURLUPART_URL, CURLU_NO_DEFAULT_PORT);
}

bool has_scheme(std::string_view s) {
  // RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (c == ':') return true;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  return false;
}

}  // namespace

std::optional<std::string> normalize_url(std::string_view url) {
  url = trim(url);
  if (url.empty() || !has_scheme(url)) return std::nullopt;
  UrlHandle u(curl_url());
  if (!u) return std::nullopt;
  std::string s(url);
  if (curl_url_set(u.get(), CURLUPART_URL, s.c_str(), CURLU_URLENCODE) != CURLUE_OK) return std::nullopt;
  return finish(u.get());
}

std::optional<std::string> resolve_url(std::string_view base, std::string_view href) {
  href = trim(href);
  UrlHandle u(curl_url());
  if (!u) return std::nullopt;
  std::string b(base);
  // Encoded like an href: a base that is not normalised (a page's <base href> resolved
  // from the raw page URL) must not leave raw bytes in what resolves against it.
  if (curl_url_set(u.get(), CURLUPART_URL, b.c_str(), CURLU_URLENCODE) != CURLUE_OK) return std::nullopt;
  // "" and "#frag" are the document itself (curl 7.88 resolves "#frag" to the directory).
  if (href.empty() || href.front() == '#') return finish(u.get());
  std::string h(href);
  // An absolute href with another scheme (mailto:, javascript:) must not be taken for a
  // relative path: check it before curl, which rejects unknown schemes only sometimes.
  if (has_scheme(h)) {
    auto colon = h.find(':');
    std::string scheme = h.substr(0, colon);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    if (scheme != "http" && scheme != "https") return std::nullopt;
  }
  if (curl_url_set(u.get(), CURLUPART_URL, h.c_str(), CURLU_URLENCODE) != CURLUE_OK) return std::nullopt;
  return finish(u.get());
}

std::optional<UrlParts> split_url(std::string_view url) {
  UrlHandle u(curl_url());
  std::string s(url);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, s.c_str(), 0) != CURLUE_OK) return std::nullopt;
  UrlParts parts;
  auto scheme = get_part(u.get(), CURLUPART_SCHEME);
  auto host = get_part(u.get(), CURLUPART_HOST);
  if (!scheme || !host) return std::nullopt;
  parts.scheme = *scheme;
  parts.host = *host;
  parts.origin = *scheme + "://" + *host;
  if (auto port = get_part(u.get(), CURLUPART_PORT)) parts.origin += ":" + *port;
  parts.target = get_part(u.get(), CURLUPART_PATH).value_or("/");
  if (auto query = get_part(u.get(), CURLUPART_QUERY)) parts.target += "?" + *query;
  return parts;
}

}  // namespace crawler
