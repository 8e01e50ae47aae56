// html_fuzz: crawler/html.hpp's parse_page (gumbo) and the URL resolution behind it.
//
// Input: one byte choosing the page URL, then the HTML. Checks, beyond no crash or leak:
// every link is a normalised URL (fuzz/check.hpp: absolute http(s), no fragment, ...)
// and appears once; the title is valid UTF-8 with its whitespace collapsed (no leading,
// trailing or doubled space, no tab or newline) and no longer than the decoding of the
// input can make it (3 bytes per input byte: U+FFFD for an invalid byte); the same page
// parses to the same result twice.
#include <set>
#include <string>
#include <string_view>

#include "url_check.hpp"
#include "html.hpp"

namespace {
constexpr const char* kPages[] = {
    "http://example.com/",
    "https://Example.ORG:8443/a/b/page.html?q=1#frag",
    "http://example.com:80/dir/../x/./y/",
    "https://xn--bcher-kva.example/%7Euser/index",
    "http://[::1]:8080/p?x#y",
    "http://127.0.0.1/",
    "http://user:pw@example.net/a b/c",
    "https://example.com",
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size == 0) return 0;
  const char* page = kPages[data[0] % std::size(kPages)];
  const std::string_view html(reinterpret_cast<const char*>(data + 1), size - 1);
  const crawler::PageInfo info = crawler::parse_page(html, page);

  std::set<std::string> seen;
  for (const std::string& link : info.links) {
    fuzz::check_normalised(link, "link");
    FUZZ_CHECK(seen.insert(link).second, "link twice: %s", link.c_str());
  }
  const std::string& t = info.title;
  FUZZ_CHECK(fuzz::valid_utf8(t), "title is not UTF-8 (%zu bytes)", t.size());
  FUZZ_CHECK(t.size() <= 3 * html.size(), "title of %zu bytes from %zu bytes of HTML", t.size(), html.size());
  FUZZ_CHECK(t.empty() || (t.front() != ' ' && t.back() != ' '), "title not trimmed: [%s]", t.c_str());
  FUZZ_CHECK(t.find("  ") == std::string::npos, "doubled space in title: [%s]", t.c_str());
  FUZZ_CHECK(t.find_first_of("\t\n\r\f") == std::string::npos, "whitespace left in title: [%s]", t.c_str());

  const crawler::PageInfo again = crawler::parse_page(html, page);
  FUZZ_CHECK(again.title == info.title && again.links == info.links, "two parses differ");
  return 0;
}
