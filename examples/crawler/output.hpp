// crawler/output.hpp: one JSON object per fetched page, one per line.
//
// Lines are built whole in memory and written with write(2) in whole lines, never through
// stdio: a write to a pipe may yield to another greenlet under green::patch, and a stdio
// FILE lock held across that yield would be entered again by the next greenlet on this OS
// thread. A flush that finds another flush in progress leaves its lines for the next one,
// so the file only ever holds complete lines, whatever moment the crawl is stopped at.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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
  // Writes every complete buffered line (unless another flush is running).
  void flush();

 private:
  int fd_;
  bool owned_;
  bool flushing_ = false;
  std::string buffer_;
  std::string spare_;
};

}  // namespace crawler
