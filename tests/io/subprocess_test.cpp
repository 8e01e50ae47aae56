#include "green/subprocess.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "io_test_util.hpp"

namespace {

using green::Popen;
using green::PopenOptions;
using green::Stdio;

TEST(Subprocess, CheckOutputAndCall) {
  EXPECT_EQ(green::check_output({"echo", "hello"}), "hello\n");
  EXPECT_EQ(green::call({"sh", "-c", "exit 3"}), 3);
  try {
    green::check_output({"sh", "-c", "echo partial; exit 4"});
    FAIL();
  } catch (const green::CalledProcessError& e) {
    EXPECT_EQ(e.returncode(), 4);
    EXPECT_EQ(e.output(), "partial\n");
    EXPECT_NE(std::string(e.what()).find("status 4"), std::string::npos) << e.what();
  }
}

TEST(Subprocess, TenMiBThroughCat) {
  std::string data(10 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 2654435761u >> 13);
  Popen p({"cat"}, PopenOptions{.std_in = Stdio::pipe, .std_out = Stdio::pipe});
  auto [out, err] = p.communicate(data, 60.0);
  EXPECT_EQ(out.size(), data.size());
  EXPECT_TRUE(out == data);
  EXPECT_EQ(p.returncode(), 0);
}

TEST(Subprocess, StderrPipesAndMerging) {
  Popen p({"sh", "-c", "echo out; echo err >&2"}, PopenOptions{.std_out = Stdio::pipe, .std_err = Stdio::pipe});
  auto [out, err] = p.communicate();
  EXPECT_EQ(out, "out\n");
  EXPECT_EQ(err, "err\n");
  EXPECT_EQ(green::check_output({"sh", "-c", "echo err >&2"}, {}, PopenOptions{.std_err = Stdio::to_stdout}), "err\n");
  EXPECT_EQ(green::check_output({"cat"}, {}, PopenOptions{.std_in = Stdio::devnull}), "");
}

TEST(Subprocess, AChildThatOutlivesItsTimeoutIsNotKilled) {
  Popen p({"sleep", "30"});
  try {
    p.wait(0.05);
    FAIL();
  } catch (const green::TimeoutExpired& e) {
    EXPECT_NE(std::string(e.what()).find("still running"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("kills nothing"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(p.poll());  // still running
  EXPECT_EQ(::kill(p.pid(), 0), 0);
  p.kill();
  EXPECT_EQ(p.wait(10.0), -SIGKILL);
  p.kill();  // no effect once reaped
}

TEST(Subprocess, CommunicateTimeoutThenContinue) {
  Popen p({"sh", "-c", "echo a; sleep 0.3; echo b"}, PopenOptions{.std_out = Stdio::pipe});
  EXPECT_THROW(p.communicate({}, 0.05), green::TimeoutExpired);
  auto [out, err] = p.communicate({}, 10.0);
  EXPECT_EQ(out, "a\nb\n");
}

TEST(Subprocess, CheckOutputKillsOnTimeout) {
  try {
    green::check_output({"sleep", "30"}, 0.05);
    FAIL();
  } catch (const green::TimeoutExpired& e) {
    EXPECT_NE(std::string(e.what()).find("killed"), std::string::npos) << e.what();
  }
}

TEST(Subprocess, TerminateGivesMinusSigterm) {
  Popen p({"sleep", "30"});
  p.terminate();
  EXPECT_EQ(p.wait(10.0), -SIGTERM);
}

TEST(Subprocess, WaitingDoesNotBlockOtherGreenlets) {
  int ticks = 0;
  auto ticker = green::spawn([&] {
    for (; ticks < 5; ++ticks) green::sleep(0.01);
  });
  EXPECT_EQ(green::call({"sleep", "0.2"}), 0);
  EXPECT_EQ(ticks, 5);
  ticker.get();
}

TEST(Subprocess, NeverStealsOtherChildrensExitStatus) {
  // A child started without green: its status must still be there for its owner.
  const pid_t other = ::fork();
  if (other == 0) ::_exit(7);
  ASSERT_GT(other, 0);
  green::sleep(0.05);  // it has exited (a zombie) while green reaps its own child
  EXPECT_EQ(green::call({"true"}), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(other, &status, 0), other);
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(Subprocess, ErrorsNameTheProgram) {
  try {
    Popen p({"/no/such/program"});
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/no/such/program"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Popen({}), std::invalid_argument);
  EXPECT_THROW(Popen({"true"}).communicate("input"), std::invalid_argument);
  EXPECT_EQ(green::check_output({"pwd"}, {}, PopenOptions{.cwd = "/"}), "/\n");
  EXPECT_EQ(green::check_output({"sh", "-c", "echo $GREEN_X"}, {}, PopenOptions{.env = std::vector<std::string>{"GREEN_X=42"}}),
            "42\n");
}

}  // namespace
