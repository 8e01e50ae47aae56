#include "html.hpp"

#include <gumbo.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include "url.hpp"

namespace crawler {
namespace {

struct Scan {
  std::optional<std::string> base;  // the first <base href>, as written
  std::vector<std::string> hrefs;   // as written, document order
  const GumboNode* title = nullptr;
};

const char* attribute(const GumboElement& e, const char* name) {
  const GumboAttribute* a = gumbo_get_attribute(&e.attributes, name);
  return a ? a->value : nullptr;
}

// Iterative walk: pages nest deep enough (generated markup, broken tables) to make
// recursion on a greenlet's small stack a liability.
void scan(const GumboNode* root, Scan& out) {
  std::vector<const GumboNode*> stack{root};
  while (!stack.empty()) {
    const GumboNode* node = stack.back();
    stack.pop_back();
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) continue;
    const GumboElement& e = node->v.element;
    switch (e.tag) {
      case GUMBO_TAG_A:
      case GUMBO_TAG_AREA:
        if (const char* href = attribute(e, "href")) out.hrefs.emplace_back(href);
        break;
      case GUMBO_TAG_BASE:
        if (const char* href = attribute(e, "href"); href && !out.base) out.base = href;
        break;
      case GUMBO_TAG_TITLE:
        // The first <title> outside <svg> is the document's (SVG has its own title).
        if (!out.title && e.tag_namespace == GUMBO_NAMESPACE_HTML) out.title = node;
        break;
      default:
        break;
    }
    for (unsigned i = e.children.length; i-- > 0;)
      stack.push_back(static_cast<const GumboNode*>(e.children.data[i]));
  }
}

// Length of the valid UTF-8 sequence at s[i], or 0 if there is none (stray or overlong
// bytes, surrogates, past U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  const std::size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  std::uint32_t cp = c & (0x7f >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b >> 6) != 0x2) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  const std::uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// gumbo decodes an overflowing numeric reference ("&#x9999999999;") to a stray byte instead
// of U+FFFD: replace whatever is not UTF-8, so the title is (JSON output needs it).
std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (std::size_t n = utf8_sequence(s, i)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

std::string collapse_whitespace(const GumboNode* title) {
  std::string text;
  const GumboVector& children = title->v.element.children;
  for (unsigned i = 0; i < children.length; ++i) {
    auto* child = static_cast<const GumboNode*>(children.data[i]);
    if (child->type == GUMBO_NODE_TEXT || child->type == GUMBO_NODE_WHITESPACE) text += child->v.text.text;
  }
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

PageInfo parse_page(std::string_view html, std::string_view page_url) {
  struct OutputDeleter {
    void operator()(GumboOutput* o) const noexcept { gumbo_destroy_output(&kGumboDefaultOptions, o); }
  };
  std::unique_ptr<GumboOutput, OutputDeleter> doc(
      gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size()));
  PageInfo info;
  if (!doc) return info;
  Scan found;
  scan(doc->root, found);
  if (found.title) info.title = valid_utf8(collapse_whitespace(found.title));

  std::string base(page_url);
  if (found.base)
    if (auto resolved = resolve_url(page_url, *found.base)) base = *resolved;
  std::unordered_set<std::string> seen;
  for (const std::string& href : found.hrefs) {
    auto url = resolve_url(base, href);
    if (url && seen.insert(*url).second) info.links.push_back(std::move(*url));
  }
  return info;
}

}  // namespace crawler
