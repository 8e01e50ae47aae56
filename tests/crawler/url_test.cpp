#include "url.hpp"

#include <gtest/gtest.h>

using crawler::normalize_url;
using crawler::resolve_url;
using crawler::split_url;

TEST(Url, NormalisesSchemeHostPortAndPath) {
  EXPECT_EQ(normalize_url("HTTP://Example.COM"), "http://example.com/");
  EXPECT_EQ(normalize_url("http://example.com:80/a"), "http://example.com/a");
  EXPECT_EQ(normalize_url("https://example.com:443/a"), "https://example.com/a");
  EXPECT_EQ(normalize_url("http://example.com:8080/a"), "http://example.com:8080/a");
  EXPECT_EQ(normalize_url("http://example.com/a/./b/../c"), "http://example.com/a/c");
  EXPECT_EQ(normalize_url("  http://example.com/x \n"), "http://example.com/x");
}

TEST(Url, DropsFragmentAndCredentials) {
  EXPECT_EQ(normalize_url("http://example.com/a?q=1#top"), "http://example.com/a?q=1");
  EXPECT_EQ(normalize_url("http://user:pw@example.com/"), "http://example.com/");
}

TEST(Url, EncodesWhatNeedsEncoding) {
  EXPECT_EQ(normalize_url("http://example.com/a b"), "http://example.com/a%20b");
}

TEST(Url, RejectsNonHttpAndMalformed) {
  EXPECT_EQ(normalize_url("ftp://example.com/"), std::nullopt);
  EXPECT_EQ(normalize_url("mailto:someone@example.com"), std::nullopt);
  EXPECT_EQ(normalize_url("example.com"), std::nullopt);
  EXPECT_EQ(normalize_url("/relative/path"), std::nullopt);
  EXPECT_EQ(normalize_url("http://"), std::nullopt);
  EXPECT_EQ(normalize_url(""), std::nullopt);
  EXPECT_EQ(normalize_url("http://exa mple.com/"), std::nullopt);
}

// Found by fuzz/url_fuzz: a host with non-ASCII bytes came back raw. Only the punycode
// spelling of an international name is taken.
TEST(Url, HostsOutsideAsciiAreRejected) {
  EXPECT_EQ(normalize_url("http://b\xc3\xbc" "cher.example/a"), std::nullopt);
  EXPECT_EQ(normalize_url("http://xn--bcher-kva.example/a"), "http://xn--bcher-kva.example/a");
  EXPECT_EQ(normalize_url("http://example\xef" "com/"), std::nullopt);
  EXPECT_EQ(resolve_url("http://example.com/", "//b\xc3\xbc" "cher.example/x"), std::nullopt);
}

// Found by fuzz/url_fuzz: an empty href against a base with raw bytes gave them back raw.
TEST(Url, ResolvingAgainstARawBaseEncodes) {
  EXPECT_EQ(resolve_url("http://example.com/a b/\xf5", ""), "http://example.com/a%20b/%f5");
  EXPECT_EQ(resolve_url("http://example.com/a b/", "c"), "http://example.com/a%20b/c");
}

// Found by fuzz/url_fuzz: curl takes "%" in a host, and split_url's origin then differed
// from the URL's own spelling of it.
TEST(Url, RejectsHostsNoNameCanHave) {
  EXPECT_EQ(normalize_url("http://h.exampl%25/"), std::nullopt);
  EXPECT_EQ(normalize_url("http://a%41.example/"), "http://aa.example/");  // decoded, then lower case
  EXPECT_EQ(normalize_url("http://[::1]:8080/x"), "http://[::1]:8080/x");
  EXPECT_EQ(normalize_url("http://my_host.example/"), "http://my_host.example/");
  EXPECT_EQ(normalize_url("http://[::%251]/a"), std::nullopt);  // a zone id
}

TEST(Url, ResolvesRelativeForms) {
  const std::string base = "http://example.com/dir/page.html?x=1";
  EXPECT_EQ(resolve_url(base, "other.html"), "http://example.com/dir/other.html");
  EXPECT_EQ(resolve_url(base, "./other.html"), "http://example.com/dir/other.html");
  EXPECT_EQ(resolve_url(base, "../up.html"), "http://example.com/up.html");
  EXPECT_EQ(resolve_url(base, "/root.html"), "http://example.com/root.html");
  EXPECT_EQ(resolve_url(base, "?y=2"), "http://example.com/dir/page.html?y=2");
  EXPECT_EQ(resolve_url(base, "sub/"), "http://example.com/dir/sub/");
}

TEST(Url, ResolvesProtocolRelativeAndAbsolute) {
  EXPECT_EQ(resolve_url("https://example.com/a", "//cdn.example.org/x.html"), "https://cdn.example.org/x.html");
  EXPECT_EQ(resolve_url("http://example.com/a", "HTTPS://Other.example/y"), "https://other.example/y");
}

TEST(Url, FragmentOnlyAndEmptyHrefAreThePageItself) {
  const std::string base = "http://example.com/dir/page.html";
  EXPECT_EQ(resolve_url(base, "#section"), base);
  EXPECT_EQ(resolve_url(base, ""), base);
  EXPECT_EQ(resolve_url(base, "other.html#frag"), "http://example.com/dir/other.html");
}

TEST(Url, RejectsOtherSchemes) {
  const std::string base = "http://example.com/";
  EXPECT_EQ(resolve_url(base, "mailto:a@example.com"), std::nullopt);
  EXPECT_EQ(resolve_url(base, "javascript:void(0)"), std::nullopt);
  EXPECT_EQ(resolve_url(base, "JavaScript:alert(1)"), std::nullopt);
  EXPECT_EQ(resolve_url(base, "tel:+123456"), std::nullopt);
  EXPECT_EQ(resolve_url(base, "data:text/html,hi"), std::nullopt);
  EXPECT_EQ(resolve_url(base, "ftp://example.com/file"), std::nullopt);
}

TEST(Url, SplitsOriginAndTarget) {
  auto parts = split_url("http://example.com:8080/a/b?q=1");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->scheme, "http");
  EXPECT_EQ(parts->host, "example.com");
  EXPECT_EQ(parts->origin, "http://example.com:8080");
  EXPECT_EQ(parts->target, "/a/b?q=1");
  auto plain = split_url("https://example.com/");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->origin, "https://example.com");
  EXPECT_EQ(plain->target, "/");
}

// Found by fuzz/url_fuzz: a percent-encoded numeric host ("%34") came back as "4", which
// curl reads as the IPv4 address 0.0.0.4 when it parses the URL again.
TEST(Url, PercentEncodedNumericHostsAreSpelledOut) {
  EXPECT_EQ(normalize_url("http://4/a"), "http://0.0.0.4/a");
  EXPECT_EQ(normalize_url("https:/%34/%43/q"), "https://0.0.0.4/%43/q");
  EXPECT_EQ(normalize_url("http://%30x7f.1/"), "http://127.0.0.1/");
  EXPECT_EQ(normalize_url("http://cafe.example/"), "http://cafe.example/");
  EXPECT_EQ(resolve_url("http://example.com/", "//%34/x"), "http://0.0.0.4/x");
}
