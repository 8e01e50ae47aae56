// crawler/url.hpp: URL normalisation and resolution on libcurl's URL API (CURLU).
//
// A normalised URL is absolute http or https, has a host, a lower-case scheme and host, no
// default port, no fragment, no user:password, a path that starts with '/' and has no dot
// segments, and characters that need it percent-encoded. Two spellings of one resource
// normalise to the same string, so the frontier's seen-set compares strings. Anything else
// (mailto:, javascript:, ftp:, a host-less URL, garbage) yields nullopt.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crawler {

std::optional<std::string> normalize_url(std::string_view url);
// Resolves `href` (as written in a page: relative, protocol-relative, absolute, with
// surrounding whitespace) against the absolute `base`, then normalises.
std::optional<std::string> resolve_url(std::string_view base, std::string_view href);

struct UrlParts {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower case, no port
  std::string origin;  // scheme://host[:port], the unit of politeness and of robots.txt
  std::string target;  // path and query, what robots.txt rules match against
};
// Parts of an URL already normalised; nullopt if it is not one.
std::optional<UrlParts> split_url(std::string_view url);

}  // namespace crawler
