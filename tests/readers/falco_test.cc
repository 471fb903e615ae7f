// The Falco mapping rules, one by one, on small alerts in Falco's shape.

#include "readers/falco.h"

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

// An alert with `fields` as its output_fields (JSON members, no braces).
std::string Alert(const std::string& fields, const std::string& extra = "") {
  return R"({"output":"x","priority":"Notice","rule":"Some rule","source":"syscall",)" + extra +
         R"("time":"2024-05-01T10:00:00.000000001Z","output_fields":{)" + fields + "}}\n";
}

TEST(FalcoReader, ExecveMapsExePathAndParent) {
  auto r = ReadAs(Alert(R"("container.id":"0123456789ab","container.image.repository":"nginx",)"
                        R"("evt.type":"execve","proc.exepath":"/usr/bin/curl","proc.name":"curl",)"
                        R"("proc.pname":"sh","proc.pexepath":"/bin/sh")"),
                  Format::kFalco);
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_THAT(r->events, ElementsAre(R"({"time":"2024-05-01T10:00:00.000000001Z",)"
                                     R"("entity":"0123456789ab","group":"nginx","kind":"exec",)"
                                     R"("subject":"/usr/bin/curl","actor":"/bin/sh"})"));
}

TEST(FalcoReader, ExecWithoutExePathUsesNameAndParentName) {
  auto r = ReadAs(Alert(R"("container.id":"c1","proc.name":"sh","proc.pname":"runc")"),
                  Format::kFalco);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("kind":"exec","subject":"sh","actor":"runc")"));
}

TEST(FalcoReader, ConnectTakesServerAddressAndPort) {
  auto r = ReadAs(Alert(R"("container.id":"c1","evt.type":"connect","fd.sip":"10.0.0.1",)"
                        R"("fd.sport":443,"proc.exepath":"/usr/bin/curl")"),
                  Format::kFalco);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0],
              HasSubstr(R"("kind":"connect","subject":"10.0.0.1:443","actor":"/usr/bin/curl")"));
}

TEST(FalcoReader, SocketTupleWithoutEvtTypeIsAConnectToItsServerSide) {
  auto r = ReadAs(Alert(R"("container.id":"c1","fd.name":"172.17.0.9:43812->10.96.0.1:443",)"
                        R"("proc.cmdline":"handler --port 1")"),
                  Format::kFalco);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0],
              HasSubstr(R"("kind":"connect","subject":"10.96.0.1:443","actor":"handler")"));
}

TEST(FalcoReader, AcceptTakesThePeerWithoutItsEphemeralPort) {
  auto r = ReadAs(Alert(R"("container.id":"c1","evt.type":"accept4",)"
                        R"("fd.name":"192.168.1.5:51000->10.0.0.2:22","proc.name":"sshd")"),
                  Format::kFalco);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0],
              HasSubstr(R"("kind":"accept","subject":"192.168.1.5","actor":"sshd")"));
}

TEST(FalcoReader, ClientIpAloneIsAnAccept) {
  auto r = ReadAs(Alert(R"("container.id":"c1","fd.cip":"192.168.1.5","proc.name":"nginx")"),
                  Format::kFalco);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("kind":"accept","subject":"192.168.1.5")"));
}

TEST(FalcoReader, FileSyscallsTakeThePath) {
  auto r = ReadAs(Alert(R"("container.id":"c1","evt.type":"openat","fd.name":"/etc/shadow",)"
                        R"("proc.exepath":"/usr/bin/cat")") +
                      Alert(R"("container.id":"c1","evt.type":"unlinkat",)"
                            R"("fs.path.name":"/var/log/x","proc.name":"rm")"),
                  Format::kFalco);
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_THAT(r->events[0],
              HasSubstr(R"("kind":"file","subject":"/etc/shadow","actor":"/usr/bin/cat")"));
  EXPECT_THAT(r->events[1], HasSubstr(R"("kind":"file","subject":"/var/log/x","actor":"rm")"));
}

TEST(FalcoReader, OtherSyscallsAreSyscallEvents) {
  auto r = ReadAs(Alert(R"("container.id":"c1","evt.type":"ptrace","proc.name":"gdb")"),
                  Format::kFalco);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("kind":"syscall","subject":"ptrace","actor":"gdb")"));
}

TEST(FalcoReader, HostEventsAreOneEntityPerHostInTheHostGroup) {
  auto r = ReadAs(Alert(R"("container.id":"host","evt.type":"openat","fd.name":"/etc/passwd")",
                        R"("hostname":"node-1",)") +
                      Alert(R"("container.id":"host","evt.type":"openat","fd.name":"/etc/passwd")"),
                  Format::kFalco);
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("entity":"host:node-1","group":"host")"));
  EXPECT_THAT(r->events[1], HasSubstr(R"("entity":"host","group":"host")"));
}

TEST(FalcoReader, LongContainerIdIsCutToTheShortId) {
  auto r = ReadAs(
      Alert(R"("container.id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",)"
            R"("proc.name":"sh")"),
      Format::kFalco);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("entity":"0123456789ab")"));
}

TEST(FalcoReader, EvtTimeIsUsedWithoutTime) {
  auto r = ReadAs(R"({"rule":"r","output_fields":{"container.id":"c1","proc.name":"sh",)"
                  R"("evt.time":1700000000123456789}})",
                  Format::kFalco);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("time":"2023-11-14T22:13:20.123456789Z")"));
}

TEST(FalcoReader, RecordsWithoutContainerActivityAreSkippedWithTheirReason) {
  const std::string input =
      R"({"rule":"Falco internal: metrics snapshot","source":"internal","time":"2024-05-01T10:00:00Z","output_fields":{"falco.num_evts":1}})"
      "\n"
      R"({"rule":"Falco internal: syscall event drop","time":"2024-05-01T10:00:00Z","output_fields":{}})"
      "\n"
      R"({"rule":"Disallowed K8s User","source":"k8s_audit","time":"2024-05-01T10:00:00Z","output_fields":{"ka.user.name":"x"}})"
      "\n" +
      Alert(R"("proc.cmdline":"cat /dev/null")") + Alert(R"("container.id":"c1","user.name":"root")");
  auto r = ReadAs(input, Format::kFalco);
  EXPECT_THAT(r->events, IsEmpty());
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_THAT(r->result.stats.skipped,
              ElementsAre(std::pair<const std::string, uint64_t>("falco alert from a plugin source", 1),
                          std::pair<const std::string, uint64_t>(
                              "falco alert without container.id", 1),
                          std::pair<const std::string, uint64_t>(
                              "falco alert without evt.type, fd or proc fields", 1),
                          std::pair<const std::string, uint64_t>("falco internal event", 1),
                          std::pair<const std::string, uint64_t>("falco metrics snapshot", 1)));
  EXPECT_EQ(r->result.stats.records, 5u);
}

TEST(FalcoReader, NullValuesReadAsAbsent) {
  auto r = ReadAs(Alert(R"("container.id":"c1","container.image.repository":null,)"
                        R"("proc.name":"sh","proc.pname":null)"),
                  Format::kFalco);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->events[0], HasSubstr(R"("entity":"c1","kind":"exec","subject":"sh","actor":"")"));
}

TEST(FalcoReader, ErrorsNameLineFieldAndExpectation) {
  const std::string input =
      Alert(R"("container.id":12,"proc.name":"sh")") +                       // line 1
      R"({"time":"2024-05-01T10:00:00Z","output_fields":{}})" "\n" +        // line 2
      R"({"rule":"r","time":"2024-05-01T10:00:00Z"})" "\n" +                // line 3
      Alert(R"("container.id":"a","container.id":"b","proc.name":"sh")") +  // line 4
      Alert(R"("container.id":"c1","proc.name":"sh","fd.sport":70000)") +  // line 5
      Alert(R"("container.id":"c1","proc.name":"sh")", R"("time":"2024-01-01T00:00:00Z",)");
  auto r = ReadAs(input, Format::kFalco);
  EXPECT_THAT(r->events, IsEmpty());
  EXPECT_THAT(
      r->errors,
      ElementsAre(
          "in:1: field 'output_fields.container.id': expected a string, got a number",
          "in:2: field 'rule': missing; expected the name of the Falco rule",
          "in:3: field 'output_fields': missing; expected the object of the rule's fields",
          "in:4: field 'output_fields.container.id': appears twice; expected each field at "
          "most once",
          "in:5: field 'output_fields.fd.sport': expected an integer in 0..65535, got 70000",
          "in:6: field 'time': appears twice; expected each field at most once"));
}

TEST(FalcoReader, TimeOutsideTheRangeIsOutOfRange) {
  auto r = ReadAs(R"({"rule":"r","time":"1969-12-31T23:59:59Z","output_fields":{"container.id":"c","proc.name":"sh"}})"
                  "\n"
                  R"({"rule":"r","time":"2262-04-12T00:00:00Z","output_fields":{"container.id":"c","proc.name":"sh"}})",
                  Format::kFalco);
  ASSERT_EQ(r->result.errors.size(), 2u);
  EXPECT_EQ(r->result.errors[0].code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(r->result.errors[1].code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(r->errors[0], HasSubstr("in:1: field 'time': time \"1969-12-31T23:59:59Z\""));
}

}  // namespace
}  // namespace timescan
