// The length-delimited timescan.v1.Event stream: round trip, validation and
// framing errors.

#include "readers/proto_stream.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reader_test_util.h"

#include "timescan/v1/event.pb.h"

namespace timescan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing_util::ReadAs;

// Appends `message` with its size prefix.
void AppendMessage(const v1::Event& message, std::string* out) {
  std::string bytes = message.SerializeAsString();
  std::string prefix;
  for (uint64_t n = bytes.size(); ; n >>= 7) {
    const unsigned char low = n & 0x7f;
    if (n < 0x80) {
      prefix.push_back(static_cast<char>(low));
      break;
    }
    prefix.push_back(static_cast<char>(low | 0x80));
  }
  *out += prefix + bytes;
}

v1::Event Message(int64_t time_ns, const std::string& entity) {
  v1::Event m;
  m.set_time_ns(time_ns);
  m.set_entity(entity);
  m.set_kind(v1::KIND_CONNECT);
  m.set_subject("10.0.0.1:443");
  return m;
}

TEST(ProtoStream, RoundTripThroughTheReader) {
  SymbolTable symbols;
  std::string stream;
  internal::AppendDelimitedEvent(EventBuilder(symbols)
                                     .Time(1'714'557'600'000'000'001)
                                     .Entity("c1")
                                     .Group("web")
                                     .Kind(Kind::kRequest)
                                     .Subject("/api")
                                     .Actor("10.0.0.9")
                                     .Value(12.5)
                                     .Status(503)
                                     .Build(),
                                 symbols, &stream);
  internal::AppendDelimitedEvent(
      EventBuilder(symbols).Time(0).Entity("c2").Kind(Kind::kExec).Subject("/bin/sh").Build(),
      symbols, &stream);
  auto r = ReadAs(stream, Format::kAuto);
  EXPECT_EQ(r->result.format, Format::kProto);
  EXPECT_THAT(r->errors, IsEmpty());
  EXPECT_THAT(r->events,
              ElementsAre(R"({"time":"2024-05-01T10:00:00.000000001Z","entity":"c1","group":"web","kind":"request","subject":"/api","actor":"10.0.0.9","value":12.5,"status":503})",
                          R"({"time":"1970-01-01T00:00:00Z","entity":"c2","kind":"exec","subject":"/bin/sh","actor":""})"));
  // The gzip of a stream reads the same.
  auto gz = ReadAs(testing_util::Gzip(stream), Format::kAuto);
  EXPECT_EQ(gz->events, r->events);
}

TEST(ProtoStream, InvalidMessagesAreReportedAndTheStreamGoesOn) {
  std::string stream;
  AppendMessage(Message(-1, "c"), &stream);
  AppendMessage(Message(1, ""), &stream);
  v1::Event bad_kind = Message(1, "c");
  bad_kind.set_kind(static_cast<v1::Kind>(42));
  AppendMessage(bad_kind, &stream);
  v1::Event nan = Message(1, "c");
  nan.set_value(std::numeric_limits<double>::quiet_NaN());
  AppendMessage(nan, &stream);
  stream += std::string("\x03\x08\xff\xff", 4);  // a varint cut by the message end
  AppendMessage(Message(5, "ok"), &stream);
  auto r = ReadAs(stream, Format::kProto);
  EXPECT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->errors,
              ElementsAre("in: message 1 at byte 0: field 'time_ns': -1 is before 1970-01-01T00:00:00Z",
                          HasSubstr("message 2 at byte 31: field 'entity': missing or empty"),
                          HasSubstr("message 3 at byte 50: field 'kind': expected 0..8 "
                                    "(KIND_EXEC..KIND_METRIC), got 42"),
                          HasSubstr("message 4 at byte 72: field 'value': expected a finite number"),
                          HasSubstr("message 5 at byte 103: expected a timescan.v1.Event message")));
  EXPECT_EQ(r->result.stats.records, 6u);
  EXPECT_EQ(r->result.stats.bad_records, 5u);
}

TEST(ProtoStream, OversizeMessageIsSkippedWithoutLosingTheFraming) {
  std::string stream;
  v1::Event big = Message(1, "c");
  big.set_subject(std::string(5000, 'x'));
  AppendMessage(big, &stream);
  AppendMessage(Message(2, "next"), &stream);
  ReaderOptions options;
  options.max_line_bytes = 1024;
  auto r = ReadAs(stream, Format::kProto, options);
  EXPECT_EQ(r->events.size(), 1u);
  EXPECT_THAT(r->errors, ElementsAre(HasSubstr("message of 5010 bytes is longer than the limit "
                                               "of 1024 bytes (ReaderOptions::max_line_bytes); "
                                               "skipped")));
}

TEST(ProtoStream, TruncatedAndCorruptStreamsEnd) {
  std::string stream;
  AppendMessage(Message(1, "c"), &stream);
  AppendMessage(Message(2, "d"), &stream);
  auto cut = ReadAs(stream.substr(0, stream.size() - 3), Format::kProto);
  EXPECT_EQ(cut->events.size(), 1u);
  ASSERT_EQ(cut->result.errors.size(), 1u);
  EXPECT_EQ(cut->result.errors[0].code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(cut->errors[0], HasSubstr("message 2 at byte 22: the stream ends inside a message of 21 bytes (truncated)"));

  auto prefix = ReadAs(std::string("\x80\x80", 2), Format::kProto);
  EXPECT_THAT(prefix->errors, ElementsAre(HasSubstr("the stream ends inside a size prefix")));

  auto corrupt = ReadAs(std::string("\xff\xff\xff\xff\xff\x01", 6), Format::kProto);
  EXPECT_THAT(corrupt->errors, ElementsAre(HasSubstr("expected a varint message size below 2^32")));
  EXPECT_EQ(corrupt->result.errors[0].code(), absl::StatusCode::kDataLoss);
}

TEST(ProtoStream, ParseLengthPrefix) {
  uint64_t length = 0;
  size_t used = 0;
  EXPECT_EQ(internal::ParseLengthPrefix("\x05", &length, &used), internal::PrefixResult::kOk);
  EXPECT_EQ(length, 5u);
  EXPECT_EQ(used, 1u);
  EXPECT_EQ(internal::ParseLengthPrefix("\xac\x02", &length, &used), internal::PrefixResult::kOk);
  EXPECT_EQ(length, 300u);
  EXPECT_EQ(internal::ParseLengthPrefix("\xff\xff\xff\xff\x0f", &length, &used),
            internal::PrefixResult::kOk);
  EXPECT_EQ(length, 0xffffffffu);
  EXPECT_EQ(internal::ParseLengthPrefix("\xff\xff\xff\xff\x1f", &length, &used),
            internal::PrefixResult::kMalformed);
  EXPECT_EQ(internal::ParseLengthPrefix("\xff", &length, &used), internal::PrefixResult::kNeedMore);
}

}  // namespace
}  // namespace timescan
