#include "output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace crawler {
namespace {

constexpr std::size_t kFlushAt = 64 * 1024;

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  if (n == 2 && c < 0xC2) return 0;                              // overlong
  if (n == 3 && c == 0xE0 && byte(i + 1) < 0xA0) return 0;       // overlong
  if (n == 3 && c == 0xED && byte(i + 1) >= 0xA0) return 0;      // surrogate
  if (n == 4 && c == 0xF0 && byte(i + 1) < 0x90) return 0;       // overlong
  if (n == 4 && (c > 0xF4 || (c == 0xF4 && byte(i + 1) >= 0x90))) return 0;  // > U+10FFFF
  return n;
}

}  // namespace

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
      ++i;
      continue;
    }
    std::size_t n = utf8_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD: pages lie about their charset
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
  return out;
}

std::string to_json_line(const PageRecord& r) {
  char number[64];
  std::string line = "{\"url\":" + json_quote(r.url);
  line += ",\"final_url\":" + json_quote(r.final_url);
  line += ",\"status\":" + std::to_string(r.status);
  line += ",\"content_type\":" + json_quote(r.content_type);
  line += ",\"bytes\":" + std::to_string(r.bytes);
  std::snprintf(number, sizeof number, "%.3f", r.elapsed_ms);
  line += ",\"elapsed_ms\":";
  line += number;
  line += ",\"depth\":" + std::to_string(r.depth);
  line += ",\"title\":" + json_quote(r.title);
  line += ",\"links\":" + std::to_string(r.links);
  line += ",\"attempts\":" + std::to_string(r.attempts);
  if (r.error) line += ",\"error\":" + json_quote(*r.error);
  line += "}\n";
  return line;
}

Output::Output(const std::string& path) : fd_(STDOUT_FILENO), owned_(false) {
  idle_.set();
  if (path.empty() || path == "-") return;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot write output file '" + path + "': " + std::strerror(errno));
  owned_ = true;
}

Output::~Output() {
  flush();
  if (owned_) ::close(fd_);
}

void Output::write(const PageRecord& record) {
  buffer_ += to_json_line(record);
  if (buffer_.size() >= kFlushAt) flush();
}

void Output::flush() {
  // The running flush may hold lines of ours; the next one takes what is left.
  while (flushing_) idle_.wait();
  if (buffer_.empty()) return;
  flushing_ = true;
  idle_.clear();
  // Write from a buffer nobody appends to while write(2) may yield.
  spare_.swap(buffer_);
  std::size_t off = 0;
  while (off < spare_.size()) {
    ssize_t n = ::write(fd_, spare_.data() + off, spare_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // a closed pipe or a full disk: nothing left to do with the lines
    off += static_cast<std::size_t>(n);
  }
  spare_.clear();
  flushing_ = false;
  idle_.set();
}

}  // namespace crawler
