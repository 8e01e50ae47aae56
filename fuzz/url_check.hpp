// fuzz/url_check.hpp: what crawler/url.hpp promises of a normalised URL, as a check.
#pragma once

#include <string>
#include <string_view>

#include "check.hpp"
#include "url.hpp"

namespace fuzz {

// Everything crawler/url.hpp promises of a normalised URL, checked on the string.
inline void check_normalised(const std::string& url, const char* where) {
  const char* u = url.c_str();
  FUZZ_CHECK(url.starts_with("http://") || url.starts_with("https://"), "%s: not http(s): %s", where, u);
  for (char c : url) {
    const auto b = static_cast<unsigned char>(c);
    FUZZ_CHECK(b > 0x20 && b < 0x7f, "%s: byte 0x%02x not percent-encoded: %s", where, b, u);
  }
  FUZZ_CHECK(url.find('#') == std::string::npos, "%s: has a fragment: %s", where, u);
  const auto again = crawler::normalize_url(url);
  FUZZ_CHECK(again.has_value(), "%s: does not normalise again: %s", where, u);
  FUZZ_CHECK(*again == url, "%s: normalising changes it: %s -> %s", where, u, again->c_str());
  const auto parts = crawler::split_url(url);
  FUZZ_CHECK(parts.has_value(), "%s: split_url fails: %s", where, u);
  FUZZ_CHECK(parts->scheme == "http" || parts->scheme == "https", "%s: scheme %s", where, parts->scheme.c_str());
  FUZZ_CHECK(!parts->host.empty(), "%s: no host: %s", where, u);
  for (char c : parts->host) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), "%s: upper-case host: %s", where, u);
  FUZZ_CHECK(url.find('@') == std::string::npos || url.find('@') > url.find('/', parts->scheme.size() + 3),
             "%s: user info kept: %s", where, u);
  FUZZ_CHECK(!parts->origin.ends_with(parts->scheme == "http" ? ":80" : ":443"), "%s: default port kept: %s", where,
             u);
  FUZZ_CHECK(parts->target.starts_with("/"), "%s: target %s does not start with /: %s", where,
             parts->target.c_str(), u);
  FUZZ_CHECK(parts->origin + parts->target == url, "%s: origin %s + target %s is not the URL %s", where,
             parts->origin.c_str(), parts->target.c_str(), u);
  // No dot segments in the path.
  const std::string path = parts->target.substr(0, parts->target.find('?'));
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view seg = std::string_view(path).substr(start, end - start);
    FUZZ_CHECK(seg != "." && seg != "..", "%s: dot segment in %s", where, u);
    start = end + 1;
  }
}

}  // namespace fuzz
