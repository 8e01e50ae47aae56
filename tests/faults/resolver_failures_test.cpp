// Resolver failures: names that do not resolve, services that do not exist, a resolver
// too slow for the caller's timeout. Each is a clear error naming the host; nothing hangs
// and nothing leaks when a lookup is abandoned.
//
// "Unknown" names here contain characters no host name may have: glibc rejects them
// before asking DNS, so these tests send nothing beyond the machine.
#include <atomic>
#include <string>
#include <vector>

#include "faults_util.hpp"

namespace green::faults {
namespace {

constexpr const char* kBadName = "no such host!.invalid";

TEST(ResolverFailure, UnknownName) {
  try {
    getaddrinfo(kBadName, "80", AF_UNSPEC, SOCK_STREAM, 0, 0, 10.0);
    ADD_FAILURE() << "resolved " << kBadName;
  } catch (const ResolverError& e) {
    EXPECT_TRUE(e.code() == EAI_NONAME || e.code() == EAI_FAIL || e.code() == EAI_AGAIN) << e.what();
    EXPECT_NE(std::string(e.what()).find(kBadName), std::string::npos) << e.what();
  }
  EXPECT_THROW(create_connection(kBadName, 80, 10.0), ResolverError);
}

TEST(ResolverFailure, NotNumericWhenNumericRequired) {
  try {
    getaddrinfo("localhost", "80", AF_INET, SOCK_STREAM, 0, AI_NUMERICHOST, 10.0);
    ADD_FAILURE() << "AI_NUMERICHOST accepted a name";
  } catch (const ResolverError& e) {
    EXPECT_EQ(e.code(), EAI_NONAME) << e.what();
    EXPECT_NE(std::string(e.what()).find("localhost"), std::string::npos) << e.what();
  }
}

TEST(ResolverFailure, UnknownService) {
  try {
    getaddrinfo("localhost", "no-such-service", AF_INET, SOCK_STREAM, 0, 0, 10.0);
    ADD_FAILURE() << "resolved a service that does not exist";
  } catch (const ResolverError& e) {
    EXPECT_EQ(e.code(), EAI_SERVICE) << e.what();
    EXPECT_NE(std::string(e.what()).find("no-such-service"), std::string::npos) << e.what();
  }
}

TEST(ResolverFailure, RefusedConnection) {
  Address closed;
  {
    Socket l = listener();
    closed = l.getsockname();
  }
  try {
    create_connection("localhost", closed.port(), 10.0);
    ADD_FAILURE() << "connected to a closed port";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(closed.port())), std::string::npos) << e.what();
  }
}

// A resolver that cannot answer in time: every worker of the hub's pool is busy, so the
// lookup waits in the queue and the caller's timeout ends the wait with SocketTimeout.
// The lookup itself still runs later; its result is dropped.
TEST(ResolverFailure, Timeout) {
  ThreadPool& pool = get_hub().threadpool();
  std::atomic<bool> release{false};
  std::vector<AsyncResult<void>> blockers;
  for (std::size_t i = 0; i < pool.maxsize(); ++i)
    blockers.push_back(pool.spawn([&] {
      while (!release.load()) ::usleep(1000);
    }));
  try {
    getaddrinfo("localhost", "http", AF_INET, SOCK_STREAM, 0, 0, 0.2);
    ADD_FAILURE() << "a lookup finished while every resolver thread was busy";
  } catch (const SocketTimeout& e) {
    EXPECT_NE(std::string(e.what()).find("getaddrinfo(localhost, http)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  }
  // An enclosing green::Timeout works the same way.
  EXPECT_THROW(
      {
        Timeout t(0.1);
        getaddrinfo("localhost", "http", AF_INET, SOCK_STREAM);
      },
      TimeoutError);
  release = true;
  for (auto& b : blockers) b.get();
  const auto infos = getaddrinfo("localhost", "http", AF_INET, SOCK_STREAM, 0, 0, 10.0);
  ASSERT_FALSE(infos.empty());
  EXPECT_EQ(infos[0].address.port(), 80);
  ASSERT_TRUE(pool.join(10.0));  // the abandoned lookups finish and drop their results
}

}  // namespace
}  // namespace green::faults
