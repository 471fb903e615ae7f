// The Tetragon mapping rules on small events in Tetragon's export shape.

#include "readers/tetragon.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reader_test_util.h"

namespace timescan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing_util::ReadAs;

constexpr char kPodProcess[] =
    R"("process":{"binary":"/usr/bin/curl","start_time":"2024-05-01T09:59:59Z",)"
    R"("pod":{"namespace":"default","name":"web-1","container":{)"
    R"("id":"containerd://0123456789abcdef0123456789abcdef","name":"web",)"
    R"("image":{"id":"sha","name":"registry:5000/team/web:1.2@sha256:abcd"}}}},)"
    R"("parent":{"binary":"/bin/sh"})";

// A `type` event of a pod process with `body` members after process and
// parent.
std::string PodEvent(const std::string& type, const std::string& body = "",
                     const std::string& time = R"(,"time":"2024-05-01T10:00:00Z")") {
  return R"({")" + type + R"(":{)" + kPodProcess + body + R"(},"node_name":"node-1")" + time +
         "}\n";
}

TEST(TetragonReader, ExecOfAPodProcess) {
  auto r = ReadAs(PodEvent("process_exec"), Format::kTetragon);
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_THAT(r->events, ElementsAre(R"({"time":"2024-05-01T10:00:00Z","entity":"0123456789ab",)"
                                     R"("group":"registry:5000/team/web","kind":"exec",)"
                                     R"("subject":"/usr/bin/curl","actor":"/bin/sh"})"));
}

TEST(TetragonReader, ExecWithoutTimeTakesTheProcessStart) {
  auto r = ReadAs(PodEvent("process_exec", "", ""), Format::kTetragon);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("time":"2024-05-01T09:59:59Z")"));
}

TEST(TetragonReader, OtherEventsWithoutTimeAreErrors) {
  auto r = ReadAs(PodEvent("process_exit", "", ""), Format::kTetragon);
  EXPECT_THAT(r->errors, ElementsAre("in:1: field 'time': missing; expected an RFC 3339 time"));
}

TEST(TetragonReader, ExitStatusAndSignal) {
  auto r = ReadAs(PodEvent("process_exit", R"(,"status":3)") +
                      PodEvent("process_exit", R"(,"signal":"SIGKILL")") +
                      PodEvent("process_exit"),
                  Format::kTetragon);
  ASSERT_EQ(r->events.size(), 3u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("kind":"exit","subject":"/usr/bin/curl","actor":"/bin/sh","status":3})"));
  EXPECT_THAT(r->events[1], HasSubstr(R"("status":137})"));
  EXPECT_THAT(r->events[2], HasSubstr(R"("status":0})"));
}

TEST(TetragonReader, TcpConnectKprobeIsAConnect) {
  auto r = ReadAs(PodEvent("process_kprobe",
                           R"(,"function_name":"tcp_connect","args":[{"sock_arg":{"family":"AF_INET",)"
                           R"("saddr":"10.0.0.5","daddr":"1.2.3.4","sport":54321,"dport":4444}}])"),
                  Format::kTetragon);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0],
              HasSubstr(R"("kind":"connect","subject":"1.2.3.4:4444","actor":"/usr/bin/curl")"));
}

TEST(TetragonReader, SocketConnectPrefersTheSockaddrAndBracketsIpv6) {
  auto r = ReadAs(PodEvent("process_kprobe",
                           R"(,"function_name":"security_socket_connect","args":[)"
                           R"({"sock_arg":{"daddr":"","dport":0}},)"
                           R"({"sockaddr_arg":{"family":"AF_INET6","addr":"2001:db8::1","port":"443"}}])"),
                  Format::kTetragon);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("kind":"connect","subject":"[2001:db8::1]:443")"));
}

TEST(TetragonReader, AcceptTakesThePeerFromTheReturnedSocket) {
  auto r = ReadAs(PodEvent("process_kprobe",
                           R"(,"function_name":"inet_csk_accept","args":[],)"
                           R"("return":{"sock_arg":{"saddr":"10.0.0.5","daddr":"192.168.1.9","sport":80,"dport":51515}})"),
                  Format::kTetragon);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("kind":"accept","subject":"192.168.1.9")"));
}

TEST(TetragonReader, FileKprobeTakesThePathAndSize) {
  auto r = ReadAs(PodEvent("process_kprobe",
                           R"(,"function_name":"__x64_sys_write","args":[{"file_arg":{"path":"/etc/passwd"}},)"
                           R"({"bytes_arg":"aGk="},{"size_arg":"627"}])"),
                  Format::kTetragon);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("kind":"file","subject":"/etc/passwd","actor":"/usr/bin/curl","value":627})"));
}

TEST(TetragonReader, ConnectProbeWithoutAddressFallsBackToSyscall) {
  auto r = ReadAs(PodEvent("process_kprobe",
                           R"(,"function_name":"__x64_sys_connect","args":[{"int_arg":3}])") +
                      PodEvent("process_kprobe",
                               R"(,"function_name":"commit_creds","args":[{"process_credentials_arg":{"uid":0}}])"),
                  Format::kTetragon);
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("kind":"syscall","subject":"__x64_sys_connect")"));
  EXPECT_THAT(r->events[1], HasSubstr(R"("kind":"syscall","subject":"commit_creds")"));
}

TEST(TetragonReader, IsovalentProcessConnectIsAConnect) {
  auto r = ReadAs(PodEvent("process_connect",
                           R"(,"source_ip":"10.0.0.5","source_port":40000,)"
                           R"("destination_ip":"142.250.180.196","destination_port":80,"protocol":"TCP")"),
                  Format::kTetragon);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("kind":"connect","subject":"142.250.180.196:80")"));
}

TEST(TetragonReader, DockerOnlyProcessHasNoGroupAndHostProcessIsHost) {
  auto r = ReadAs(
      R"({"process_exec":{"process":{"binary":"/bin/sh","docker":"a51959123c3ba99a9f50a700"},"parent":{"binary":"/bin/go"}},"node_name":"minikube","time":"2024-05-01T10:00:00Z"})"
      "\n"
      R"({"process_exec":{"process":{"binary":"/usr/bin/runc"},"parent":{"binary":"/usr/bin/containerd"}},"node_name":"minikube","time":"2024-05-01T10:00:00Z"})"
      "\n",
      Format::kTetragon);
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("entity":"a51959123c3b","kind":"exec")"));
  EXPECT_THAT(r->events[1], HasSubstr(R"("entity":"host:minikube","group":"host","kind":"exec")"));
}

TEST(TetragonReader, UnmappedTypesAreSkippedByName) {
  auto r = ReadAs(
      R"({"process_throttle":{"type":"THROTTLE_START","cgroup":"x"},"time":"2024-05-01T10:00:00Z"})"
      "\n"
      R"({"process_lsm":{"process":{}},"time":"2024-05-01T10:00:00Z"})"
      "\n"
      R"({"process_something_new":{},"time":"2024-05-01T10:00:00Z"})"
      "\n",
      Format::kTetragon);
  EXPECT_THAT(r->events, IsEmpty());
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_THAT(r->result.stats.skipped,
              ElementsAre(std::pair<const std::string, uint64_t>("tetragon process_lsm", 1),
                          std::pair<const std::string, uint64_t>("tetragon process_throttle", 1),
                          std::pair<const std::string, uint64_t>("tetragon unknown event type", 1)));
}

TEST(TetragonReader, MalformedEventsNameTheField) {
  const std::string input =
      R"({"node_name":"n","time":"2024-05-01T10:00:00Z"})" "\n"
      R"({"process_exec":{"process":{"binary":"/a"}},"process_exit":{},"time":"2024-05-01T10:00:00Z"})" "\n"
      R"({"process_exec":{"parent":{}},"time":"2024-05-01T10:00:00Z"})" "\n"
      R"({"process_kprobe":{"process":{"binary":"/a"},"args":[]},"time":"2024-05-01T10:00:00Z"})" "\n" +
      PodEvent("process_kprobe", R"(,"function_name":"tcp_connect","args":[{"sock_arg":{"daddr":"1.2.3.4","dport":65536}}])") +
      PodEvent("process_exec", R"(,"process":{})") +
      R"({"process_exec":{"process":{"binary":7}},"time":"2024-05-01T10:00:00Z"})" "\n" +
      R"({"process_exec":null,"time":"2024-05-01T10:00:00Z"})" "\n";
  auto r = ReadAs(input, Format::kTetragon);
  EXPECT_THAT(r->events, IsEmpty());
  EXPECT_THAT(
      r->errors,
      ElementsAre(
          "in:1: expected an event object such as process_exec, process_exit or process_kprobe",
          "in:2: field 'process_exit': second event object after 'process_exec'; expected one "
          "per record",
          "in:3: field 'process': missing; expected the process object",
          "in:4: field 'process_kprobe.function_name': missing; expected the probed function",
          "in:5: field 'args[].sock_arg.dport': expected an integer in 0..65535, got 65536",
          "in:6: field 'process': appears twice; expected each field at most once",
          "in:7: field 'process.binary': expected a string, got a number",
          "in:8: field 'process_exec': expected an object, got null"));
}

}  // namespace
}  // namespace timescan
