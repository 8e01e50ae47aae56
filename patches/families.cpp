// GREEN_PATCH parsing, shared by the patch library and green-run (which checks
// --patch before starting anything).
#include <cstdio>
#include <cstring>

#include "config.hpp"

namespace green::patch {

bool parse_families(const char* text, unsigned& families, char* bad, unsigned bad_size) noexcept {
  static constexpr struct {
    const char* name;
    unsigned bits;
  } kNames[] = {{"socket", 1}, {"sleep", 2}, {"poll", 4}, {"dns", 8}, {"threads", 16}, {"all", 15}};
  families = 0;
  while (*text != '\0') {
    const char* end = std::strchr(text, ',');
    std::size_t len = end ? static_cast<std::size_t>(end - text) : std::strlen(text);
    bool known = len == 0;
    for (const auto& n : kNames)
      if (std::strlen(n.name) == len && std::strncmp(n.name, text, len) == 0) {
        families |= n.bits;
        known = true;
      }
    if (!known) {
      std::snprintf(bad, bad_size, "%.*s", static_cast<int>(len), text);
      return false;
    }
    text += len;
    if (*text == ',') ++text;
  }
  return true;
}

}  // namespace green::patch
