// The parts of --redis that need no server (cli_test.cpp runs crawls against a real one).
#include "shared_frontier.hpp"

#include <gtest/gtest.h>

using crawler::RedisAddress;

TEST(RedisAddress, ParsesHostPortAndDatabase) {
  auto a = RedisAddress::parse("redis://10.0.0.5:6380/3");
  EXPECT_EQ(a.host, "10.0.0.5");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.db, 3);
  auto b = RedisAddress::parse("redis://cache.internal");
  EXPECT_EQ(b.host, "cache.internal");
  EXPECT_EQ(b.port, 6379);
  EXPECT_EQ(b.db, 0);
}

TEST(RedisAddress, RejectsWhatIsNotARedisUrl) {
  EXPECT_THROW(RedisAddress::parse("http://h:1"), std::invalid_argument);
  EXPECT_THROW(RedisAddress::parse("redis://"), std::invalid_argument);
  EXPECT_THROW(RedisAddress::parse("redis://h:0"), std::invalid_argument);
  EXPECT_THROW(RedisAddress::parse("redis://h:port"), std::invalid_argument);
  EXPECT_THROW(RedisAddress::parse("redis://h:1/x"), std::invalid_argument);
}

TEST(RedisClient, UnreachableServerSaysWhere) {
  try {
    crawler::RedisClient client(RedisAddress::parse("redis://127.0.0.1:1"), 1.0);
    FAIL() << "connected to port 1";
  } catch (const crawler::RedisError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reach Redis at 127.0.0.1:1"), std::string::npos) << e.what();
  }
}
