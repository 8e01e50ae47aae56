#include "html.hpp"

#include <gtest/gtest.h>

using crawler::parse_page;

namespace {
const std::string kPage = "http://example.com/dir/page.html";
}

TEST(Html, ExtractsTitleAndLinksInOrder) {
  auto info = parse_page(R"X(<html><head><title>  Hello
      World </title></head><body><a href="a.html">a</a><p><a href="/b.html">b</a></p></body></html>)X",
                         kPage);
  EXPECT_EQ(info.title, "Hello World");
  EXPECT_EQ(info.links, (std::vector<std::string>{"http://example.com/dir/a.html", "http://example.com/b.html"}));
}

TEST(Html, ResolvesRelativeAndProtocolRelative) {
  auto info = parse_page(R"X(<a href="../up.html"></a><a href="//cdn.example.org/x"></a><a href="https://other.example/y"></a>)X",
                         kPage);
  EXPECT_EQ(info.links, (std::vector<std::string>{"http://example.com/up.html", "http://cdn.example.org/x",
                                                  "https://other.example/y"}));
}

TEST(Html, BaseHrefAppliesToEveryLinkEvenBeforeIt) {
  auto info = parse_page(R"X(<html><head><base href="http://static.example.com/root/"><base href="/ignored/"></head>
      <body><a href="x.html"></a><a href="/abs.html"></a></body></html>)X",
                         kPage);
  EXPECT_EQ(info.links,
            (std::vector<std::string>{"http://static.example.com/root/x.html", "http://static.example.com/abs.html"}));
}

TEST(Html, RelativeBaseHrefIsResolvedAgainstThePage) {
  auto info = parse_page(R"X(<head><base href="../other/"></head><a href="x.html">)X", kPage);
  EXPECT_EQ(info.links, (std::vector<std::string>{"http://example.com/other/x.html"}));
}

TEST(Html, DropsFragmentsAndDeduplicates) {
  auto info = parse_page(R"X(<a href="a.html#one"></a><a href="a.html#two"></a><a href="a.html"></a><a href="#top"></a>)X",
                         kPage);
  EXPECT_EQ(info.links, (std::vector<std::string>{"http://example.com/dir/a.html", kPage}));
}

TEST(Html, DecodesEntitiesInHrefAndTitle) {
  auto info = parse_page(R"X(<title>Fish &amp; Chips &eacute;t&#233; &lt;3</title>
      <a href="search?q=1&amp;lang=en"></a><a href="caf&#233;.html"></a>)X",
                         kPage);
  EXPECT_EQ(info.title, "Fish & Chips \xC3\xA9t\xC3\xA9 <3");
  ASSERT_EQ(info.links.size(), 2u);
  EXPECT_EQ(info.links[0], "http://example.com/dir/search?q=1&lang=en");
  EXPECT_EQ(info.links[1], "http://example.com/dir/caf%c3%a9.html");
}

TEST(Html, SkipsNonHttpSchemesAndEmptyHosts) {
  auto info = parse_page(R"X(<a href="mailto:x@example.com"></a><a href="javascript:void(0)"></a>
      <a href="ftp://example.com/f"></a><a href="tel:123"></a><a href="data:text/plain,hi"></a>
      <a>no href</a><a href="http://"></a><a href=" ok.html "></a>)X",
                         kPage);
  EXPECT_EQ(info.links, (std::vector<std::string>{"http://example.com/dir/ok.html"}));
}

TEST(Html, AreaLinksCountAndOtherElementsDoNot) {
  auto info = parse_page(R"X(<map><area href="map.html"></map><link href="style.css"><img src="i.png">
      <script>var s = '<a href="fake.html">';</script>)X",
                         kPage);
  EXPECT_EQ(info.links, (std::vector<std::string>{"http://example.com/dir/map.html"}));
}

TEST(Html, MalformedMarkupParsesLikeABrowser) {
  // Unclosed tags, a stray end tag, unquoted attributes, no <html> or <head>, a table
  // whose stray contents HTML5 moves out of it, and an attribute cut off by the end of
  // the file (the parser drops that tag, as browsers do).
  auto info = parse_page(R"X(<title>Broken</title><body><div><a href=one.html>1<a href='two.html'>2</b>
      <table><a href="three.html">3</a><tr><td><a href=four.html>4</table><p><a href="five.html)X",
                         kPage);
  EXPECT_EQ(info.title, "Broken");
  EXPECT_EQ(info.links,
            (std::vector<std::string>{"http://example.com/dir/one.html", "http://example.com/dir/two.html",
                                      "http://example.com/dir/three.html", "http://example.com/dir/four.html"}));
}

TEST(Html, UnclosedTitleSwallowsTheRestAsText) {
  auto info = parse_page(R"X(<title>Oops<a href="x.html">x</a>)X", kPage);
  EXPECT_EQ(info.title, R"X(Oops<a href="x.html">x</a>)X");
  EXPECT_TRUE(info.links.empty());
}

TEST(Html, SvgTitleIsNotTheDocumentTitle) {
  auto info = parse_page(R"X(<body><svg><title>icon</title></svg><title>Real</title></body>)X", kPage);
  EXPECT_EQ(info.title, "Real");
}

TEST(Html, EmptyAndBinaryInputDoNotCrash) {
  EXPECT_TRUE(parse_page("", kPage).links.empty());
  std::string junk(4096, '\0');
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 7919 % 256);
  EXPECT_NO_THROW(parse_page(junk, kPage));
}

TEST(Html, DeepNestingDoesNotExhaustTheStack) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<div>";
  deep += "<a href=deep.html>x</a>";
  auto info = parse_page(deep, kPage);
  EXPECT_EQ(info.links, (std::vector<std::string>{"http://example.com/dir/deep.html"}));
}

// Found by fuzz/html_fuzz: gumbo turns an overflowing numeric reference into a stray byte;
// the title stays valid UTF-8 (U+FFFD in its place), as JSON output needs.
TEST(Html, TitleIsValidUtf8) {
  auto info = parse_page("<title>a&#x9999999999;b \xe2\x82\xac \xff</title>", "http://example.com/");
  EXPECT_EQ(info.title, "a\xef\xbf\xbd" "b \xe2\x82\xac \xef\xbf\xbd");
}
