// url_fuzz: crawler/url.hpp's normalize_url, resolve_url and split_url (libcurl's CURLU).
//
// Input: "base\nhref" (no newline: the whole input is both). Checks, beyond no crash:
// every URL they return is normalised (fuzz/check.hpp: http(s), absolute, lower-case host,
// no fragment, user info or default port, no dot segments, only printable ASCII, origin +
// target gives it back) and normalising it again gives it back unchanged; resolving "" or
// a "#fragment" against a normalised URL gives the URL itself; an absolute http(s) href
// resolves to what normalize_url makes of it, whatever the base.
#include <string>
#include <string_view>

#include "url_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // libcurl stops at a NUL; the crawler gets URLs from C strings too.
  if (input.find('\0') != std::string_view::npos) return 0;
  const std::size_t nl = input.find('\n');
  const std::string_view base = nl == std::string_view::npos ? input : input.substr(0, nl);
  const std::string_view href = nl == std::string_view::npos ? input : input.substr(nl + 1);

  const auto normal_base = crawler::normalize_url(base);
  if (normal_base) {
    fuzz::check_normalised(*normal_base, "normalize_url(base)");
    const auto self = crawler::resolve_url(*normal_base, "");
    FUZZ_CHECK(self && *self == *normal_base, "resolve_url(%s, \"\") is %s", normal_base->c_str(),
               self ? self->c_str() : "nullopt");
    const auto frag = crawler::resolve_url(*normal_base, "#top");
    FUZZ_CHECK(frag && *frag == *normal_base, "resolve_url(%s, \"#top\") is %s", normal_base->c_str(),
               frag ? frag->c_str() : "nullopt");
  }
  const auto normal_href = crawler::normalize_url(href);
  if (normal_href) fuzz::check_normalised(*normal_href, "normalize_url(href)");

  const auto resolved = crawler::resolve_url(base, href);
  if (resolved) fuzz::check_normalised(*resolved, "resolve_url");
  if (normal_base) {
    const auto from_normal = crawler::resolve_url(*normal_base, href);
    if (from_normal) fuzz::check_normalised(*from_normal, "resolve_url(normalised base)");
    // An absolute http(s) URL does not depend on the base.
    if (normal_href)
      FUZZ_CHECK(from_normal && *from_normal == *normal_href, "resolve_url(%s, %s) is %s, normalize_url gives %s",
                 normal_base->c_str(), std::string(href).c_str(), from_normal ? from_normal->c_str() : "nullopt",
                 normal_href->c_str());
  }
  return 0;
}
