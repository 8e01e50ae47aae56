// crawler/output.hpp: one JSON object per fetched page, one per line.
//
// Lines are built whole in memory and written with write(2) in whole lines, never through
// stdio: a write to a pipe may yield to another greenlet under green::patch, and a stdio
// FILE lock held across that yield would be entered again by the next greenlet on this OS
// thread. A flush writes from a buffer it swapped out, so lines appended while it yields
// wait for the next flush, and the file only ever holds complete lines, whatever moment the
// crawl is stopped at. flush() returns once every line written before the call is in the
// file: a crawl that shares its frontier releases a page's claim only then.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <green/event.hpp>

namespace crawler {

struct PageRecord {
  std::string url;
  std::string final_url;
  long status = 0;  // 0: no HTTP response
  std::string content_type;
  std::size_t bytes = 0;
  double elapsed_ms = 0.0;
  int depth = 0;
  std::string title;
  std::size_t links = 0;
  int attempts = 1;
  std::optional<std::string> error;
};

std::string to_json_line(const PageRecord& record);
// `s` as a JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD.
std::string json_quote(std::string_view s);

class Output {
 public:
  // Opens `path` for writing (truncating); empty or "-" is stdout. Throws
  // std::runtime_error naming the path and the reason when it cannot be opened.
  explicit Output(const std::string& path);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  void write(const PageRecord& record);
  // Writes every buffered line; waits (cooperatively) for a flush in progress first.
  void flush();

 private:
  int fd_;
  bool owned_;
  bool flushing_ = false;
  green::Event idle_;  // set while no flush is in progress
  std::string buffer_;
  std::string spare_;
};

}  // namespace crawler
