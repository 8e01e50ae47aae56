#include "shared_frontier.hpp"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <sys/time.h>

namespace crawler {
namespace {

constexpr const char* kAddScript = R"lua(
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('SADD', KEYS[1], ARGV[i + 1]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i] .. ' ' .. ARGV[i + 1])
    n = n + 1
  end
end
return n
)lua";

// KEYS: queue, leases, taken. ARGV: max_pages, lease_ms, n.
constexpr const char* kClaimScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, e in ipairs(expired) do
  redis.call('ZREM', KEYS[2], e)
  redis.call('LPUSH', KEYS[1], e)
  redis.call('DECR', KEYS[3])
end
local out = {}
local max = tonumber(ARGV[1])
for i = 1, tonumber(ARGV[3]) do
  if tonumber(redis.call('GET', KEYS[3]) or '0') >= max then break end
  local e = redis.call('LPOP', KEYS[1])
  if not e then break end
  redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), e)
  out[#out + 1] = e
end
return out
)lua";

// KEYS: queue, leases, taken. ARGV: max_pages. 1 when nothing is left to do anywhere.
constexpr const char* kFinishedScript = R"lua(
if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
if redis.call('LLEN', KEYS[1]) == 0 then return 1 end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[1]) then return 1 end
return 0
)lua";

timeval to_timeval(double seconds) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  return tv;
}

}  // namespace

RedisAddress RedisAddress::parse(const std::string& url) {
  const std::string scheme = "redis://";
  if (url.rfind(scheme, 0) != 0) throw std::invalid_argument("wants redis://host[:port][/db], got '" + url + "'");
  std::string rest = url.substr(scheme.size());
  RedisAddress a;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest.resize(slash);
    char* end = nullptr;
    long n = std::strtol(db.c_str(), &end, 10);
    if (!db.empty() && (*end != '\0' || n < 0 || n > 1000)) throw std::invalid_argument("bad database number in '" + url + "'");
    a.db = static_cast<int>(n);
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    std::string port = rest.substr(colon + 1);
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 1 || p > 65535) throw std::invalid_argument("bad port in '" + url + "'");
    a.port = static_cast<int>(p);
    rest.resize(colon);
  }
  if (rest.empty()) throw std::invalid_argument("no host in '" + url + "'");
  a.host = rest;
  return a;
}

void RedisClient::ReplyDeleter::operator()(redisReply* r) const noexcept { freeReplyObject(r); }

RedisClient::RedisClient(const RedisAddress& address, double timeout)
    : context_(redisConnectWithTimeout(address.host.c_str(), address.port, to_timeval(timeout))),
      where_(address.host + ":" + std::to_string(address.port)) {
  if (!context_) throw RedisError("cannot reach Redis at " + where_ + ": out of memory");
  if (context_->err) {
    std::string why = context_->errstr;
    redisFree(context_);
    throw RedisError("cannot reach Redis at " + where_ + ": " + why);
  }
  redisSetTimeout(context_, to_timeval(timeout));
  if (address.db != 0) command({"SELECT", std::to_string(address.db)});
}

RedisClient::~RedisClient() { redisFree(context_); }

RedisClient::Reply RedisClient::command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  Reply reply(static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  if (!reply) throw RedisError("Redis at " + where_ + ": " + (context_->err ? context_->errstr : "no reply"));
  if (reply->type == REDIS_REPLY_ERROR) throw RedisError("Redis at " + where_ + ": " + std::string(reply->str, reply->len));
  return reply;
}

SharedFrontier::SharedFrontier(RedisAddress address, const std::string& crawl_id, long max_pages, double lease_seconds)
    : address_(std::move(address)),
      prefix_("green-crawl:" + crawl_id + ":"),
      max_pages_(max_pages),
      lease_ms_(static_cast<long>(lease_seconds * 1000)) {}

long SharedFrontier::add(RedisClient& redis, const std::vector<std::pair<std::string, int>>& urls) {
  if (urls.empty()) return 0;
  std::vector<std::string> args{"EVAL", kAddScript, "2", key("seen"), key("queue")};
  for (const auto& [url, depth] : urls) {
    args.push_back(std::to_string(depth));
    args.push_back(url);
  }
  return static_cast<long>(redis.command(args)->integer);
}

void SharedFrontier::mark_seen(RedisClient& redis, const std::string& url) {
  redis.command({"SADD", key("seen"), url});
}

void SharedFrontier::add_hosts(RedisClient& redis, const std::vector<std::string>& hosts) {
  if (hosts.empty()) return;
  std::vector<std::string> args{"SADD", key("hosts")};
  args.insert(args.end(), hosts.begin(), hosts.end());
  redis.command(args);
}

std::vector<std::string> SharedFrontier::hosts(RedisClient& redis) {
  auto reply = redis.command({"SMEMBERS", key("hosts")});
  std::vector<std::string> out;
  for (size_t i = 0; i < reply->elements; ++i) out.emplace_back(reply->element[i]->str, reply->element[i]->len);
  return out;
}

std::vector<SharedEntry> SharedFrontier::claim(RedisClient& redis, int n) {
  auto reply = redis.command({"EVAL", kClaimScript, "3", key("queue"), key("leases"), key("taken"),
                              std::to_string(max_pages_), std::to_string(lease_ms_), std::to_string(n)});
  std::vector<SharedEntry> out;
  for (size_t i = 0; i < reply->elements; ++i) {
    SharedEntry e;
    e.entry.assign(reply->element[i]->str, reply->element[i]->len);
    auto space = e.entry.find(' ');
    if (space == std::string::npos) continue;
    e.depth = std::atoi(e.entry.substr(0, space).c_str());
    e.url = e.entry.substr(space + 1);
    out.push_back(std::move(e));
  }
  return out;
}

void SharedFrontier::done(RedisClient& redis, const std::string& entry) {
  redis.command({"ZREM", key("leases"), entry});
}

bool SharedFrontier::finished(RedisClient& redis) {
  return redis.command({"EVAL", kFinishedScript, "3", key("queue"), key("leases"), key("taken"),
                        std::to_string(max_pages_)})
             ->integer == 1;
}

}  // namespace crawler
