// crawler/html.hpp: links and title of an HTML page, parsed with gumbo (the HTML5 parsing
// algorithm, so malformed markup parses the way browsers parse it).
//
// Links come from <a href> and <area href>, resolved against the document's first
// <base href> (itself resolved against the page URL) or else the page URL, normalised
// (crawler/url.hpp), http(s) only, fragments dropped, each once, in document order. A
// link that resolves to the page itself is kept: the frontier's seen-set drops it.
// Entities in attributes and in the title are decoded by the parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace crawler {

struct PageInfo {
  std::string title;  // valid UTF-8, whitespace collapsed; empty if the page has none
  std::vector<std::string> links;
};

PageInfo parse_page(std::string_view html, std::string_view page_url);

}  // namespace crawler
