// `datarun produce` and `datarun replay` end to end: the built CLI against
// an in-process exchange (BusExchange) on the embedded Kafka-protocol
// cluster. Records produced by hand come back from replay with their typed
// payloads, a replay line edited and produced again round-trips, offset and
// time ranges and every filter select what they say, an idle topic ends at
// once, bad flags and bad input lines exit 2 naming what is wrong (and
// publish nothing), an unreachable bus exits 1 in bounded time, and a query
// answered by the exchange shows up on dr.audit, dr.query.req and
// dr.query.resp.<dept>.

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/query/testing/bus_exchange.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/run_command.h"

namespace datarun {
namespace {

using policy::testing::CitizenId;
using test_support::CommandResult;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kHousehold[] = "dr.data.public_security.household_registration";
constexpr char kVehicle[] = "dr.data.public_security.vehicle_registration";

CommandResult Datarun(const std::string& command,
                      const std::vector<std::string>& args) {
  std::vector<std::string> all = absl::StrSplit(command, ' ');
  all.insert(all.end(), args.begin(), args.end());
  return test_support::RunCommand("tools/datarun", all);
}

std::vector<google::protobuf::Struct> JsonLines(const std::string& out) {
  std::vector<google::protobuf::Struct> lines;
  for (absl::string_view l : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct s;
    auto st = google::protobuf::util::JsonStringToMessage(std::string(l), &s);
    EXPECT_TRUE(st.ok()) << st << ": " << l;
    lines.push_back(std::move(s));
  }
  return lines;
}

// The value at a dotted path ("value.payload.name"); null if absent.
google::protobuf::Value At(const google::protobuf::Struct& s,
                           const std::string& path) {
  google::protobuf::Value v;
  *v.mutable_struct_value() = s;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    const auto& fields = v.struct_value().fields();
    auto it = fields.find(std::string(part));
    if (!v.has_struct_value() || it == fields.end()) {
      return google::protobuf::Value();
    }
    google::protobuf::Value next = it->second;
    v = std::move(next);
  }
  return v;
}

std::string Str(const google::protobuf::Struct& s, const std::string& path) {
  return At(s, path).string_value();
}

std::string HouseholdLine(const std::string& subject, const std::string& name,
                          int version, const std::string& extra = "") {
  return absl::StrCat(
      R"({"subject":{"kind":"SUBJECT_KIND_CITIZEN","id":")", subject,
      R"("},"data_class":"household_registration","source_version":")", version,
      R"(","op":"OP_UPSERT","event_time":"2026-11-20T08:00:00Z",)", extra,
      R"("payload":{"@type":"type.googleapis.com/datarun.v1.departments.HouseholdRegistration","name":")",
      name, R"(","household_number":"330106-)", version, R"("}})");
}

std::string VehicleLine(const std::string& subject, const std::string& plate) {
  return absl::StrCat(
      R"({"subject":{"id":")", subject,
      R"("},"data_class":"vehicle_registration","record_key":")", plate,
      R"(","source_version":"1","op":"OP_UPSERT","payload":{"@type":"type.googleapis.com/datarun.v1.departments.VehicleRegistration","plate_number":")",
      plate, R"(","vin":"LSVAA4182E2000001"}})");
}

class ReplayProduceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto f = policy::testing::Fixture::Create(policy::testing::kShippedMatters,
                                              {"courts", "big_data_bureau"});
    ASSERT_TRUE(f.ok()) << f.status();
    fixture_ = f->release();
    query::testing::BusExchangeOptions o;
    o.state_dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/replay-state");
    o.workers = 4;
    auto x = query::testing::BusExchange::Start(
        fixture_->catalog(), fixture_->policy(),
        &fixture_->signer("big_data_bureau"), o);
    ASSERT_TRUE(x.ok()) << x.status();
    exchange_ = x->release();
  }
  static void TearDownTestSuite() {
    delete exchange_;
    exchange_ = nullptr;
    delete fixture_;
    fixture_ = nullptr;
  }

  std::string Brokers() const {
    return absl::StrCat("--brokers=", exchange_->cluster().bootstrap());
  }

  std::string WriteFile(const std::string& name,
                        const std::vector<std::string>& lines) {
    const std::string path =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
    std::ofstream out(path);
    for (const auto& l : lines) out << l << "\n";
    return path;
  }

  CommandResult Produce(const std::string& dept, const std::string& file) {
    return Datarun("produce", {Brokers(), absl::StrCat("--as=", dept),
                               absl::StrCat("--file=", file)});
  }

  CommandResult Replay(std::vector<std::string> args) {
    args.insert(args.begin(), Brokers());
    return Datarun("replay", args);
  }

  static policy::testing::Fixture* fixture_;
  static query::testing::BusExchange* exchange_;
};

policy::testing::Fixture* ReplayProduceTest::fixture_ = nullptr;
query::testing::BusExchange* ReplayProduceTest::exchange_ = nullptr;

TEST_F(ReplayProduceTest, ProducedRecordsReplayWithTypedPayloads) {
  const std::string a = CitizenId(101), b = CitizenId(102);
  CommandResult r = Produce(
      "public_security",
      WriteFile("three.jsonl",
                {HouseholdLine(a, "张三", 1, R"("trace_id":"fix-42",)"), "",
                 VehicleLine(a, "浙A10101"), HouseholdLine(b, "李四", 1)}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<google::protobuf::Struct> acks = JsonLines(r.out);
  ASSERT_EQ(acks.size(), 3u) << r.out;
  EXPECT_EQ(At(acks[0], "line").number_value(), 1);
  EXPECT_EQ(At(acks[1], "line").number_value(), 3);  // blank line skipped
  EXPECT_EQ(Str(acks[1], "topic"), kVehicle);
  EXPECT_THAT(r.err, HasSubstr("published 3 records"));

  r = Replay(
      {"--topic=dr.data.public_security.*", absl::StrCat("--subject=", a)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<google::protobuf::Struct> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  for (const auto& l : lines) {
    EXPECT_EQ(Str(l, "key"), a);  // keyed by subject, as connectors key
    EXPECT_EQ(Str(l, "value.subject.id"), a);
    EXPECT_EQ(Str(l, "value.source_department"), "public_security");
    EXPECT_EQ(Str(l, "headers.dr-catalog-version"),
              fixture_->catalog().version());
    if (Str(l, "topic") == kHousehold) {
      EXPECT_EQ(Str(l, "value.payload.name"), "张三");
      EXPECT_EQ(Str(l, "value.payload.household_number"), "330106-1");
      EXPECT_EQ(Str(l, "value.trace_id"), "fix-42");
      EXPECT_EQ(Str(l, "value.event_time"), "2026-11-20T08:00:00Z");
      EXPECT_EQ(Str(l, "headers.dr-payload-type"),
                "datarun.v1.departments.HouseholdRegistration");
    } else {
      EXPECT_EQ(Str(l, "topic"), kVehicle);
      EXPECT_EQ(Str(l, "value.record_key"), "浙A10101");
      EXPECT_EQ(Str(l, "value.payload.vin"), "LSVAA4182E2000001");
    }
    // Where produce said it landed.
    bool acked = false;
    for (const auto& ack : acks) {
      acked = acked || (Str(ack, "topic") == Str(l, "topic") &&
                        At(ack, "partition").number_value() ==
                            At(l, "partition").number_value() &&
                        At(ack, "offset").number_value() ==
                            At(l, "offset").number_value());
    }
    EXPECT_TRUE(acked) << Str(l, "topic");
  }
}

TEST_F(ReplayProduceTest, EditedReplayLineRoundTrips) {
  const std::string s = CitizenId(111);
  ASSERT_EQ(Produce("public_security",
                    WriteFile("one.jsonl", {HouseholdLine(s, "王五", 1)}))
                .exit_code,
            0);
  CommandResult r = Replay(
      {absl::StrCat("--topic=", kHousehold), absl::StrCat("--subject=", s)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> out = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(out.size(), 1u) << r.out;
  // The correction: a new version with another name, the replay line as
  // it was printed otherwise.
  std::string edited = out[0];
  for (auto [from, to] :
       {std::pair<std::string, std::string>{"\"source_version\":\"1\"",
                                            "\"source_version\":\"2\""},
        {"王五", "王五一"}}) {
    const size_t at = edited.find(from);
    ASSERT_NE(at, std::string::npos) << from << " in " << edited;
    edited.replace(at, from.size(), to);
  }
  // Through standard input, as in `replay | sed | produce --file=-`.
  const std::string path = WriteFile("edited.jsonl", {edited});
  r = test_support::RunCommand(
      "/bin/sh", {"-c", absl::StrCat("tools/datarun produce ",
                                     test_support::ShellQuote(Brokers()),
                                     " --as=public_security --file=- < ",
                                     test_support::ShellQuote(path))});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("published 1 record as public_security"));

  r = Replay(
      {absl::StrCat("--topic=", kHousehold), absl::StrCat("--subject=", s)});
  std::vector<google::protobuf::Struct> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(Str(lines[1], "value.source_version"), "2");
  EXPECT_EQ(Str(lines[1], "value.payload.name"), "王五一");
  // Everything else as before: subject, class, event time.
  EXPECT_EQ(Str(lines[1], "value.event_time"),
            Str(lines[0], "value.event_time"));
  EXPECT_EQ(Str(lines[1], "value.data_class"), "household_registration");
}

TEST_F(ReplayProduceTest, OffsetAndTimeRanges) {
  const std::string s = CitizenId(121);
  ASSERT_EQ(Produce("public_security",
                    WriteFile("v1.jsonl", {HouseholdLine(s, "甲", 1),
                                           HouseholdLine(s, "乙", 2)}))
                .exit_code,
            0);
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time between = absl::Now();
  absl::SleepFor(absl::Milliseconds(100));
  CommandResult r = Produce("public_security",
                            WriteFile("v2.jsonl", {HouseholdLine(s, "丙", 3)}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const absl::Time after = absl::Now();
  std::vector<google::protobuf::Struct> acks = JsonLines(r.out);
  ASSERT_EQ(acks.size(), 1u);
  const int partition =
      static_cast<int>(At(acks[0], "partition").number_value());
  const int64_t last =
      static_cast<int64_t>(At(acks[0], "offset").number_value());
  ASSERT_GE(last, 2);
  const std::string topic = absl::StrCat("--topic=", kHousehold);
  const std::string part = absl::StrCat("--partition=", partition);
  const std::string subject = absl::StrCat("--subject=", s);

  // The two records before the last, by offset (inclusive bounds).
  r = Replay({topic, part, absl::StrCat("--from_offset=", last - 2),
              absl::StrCat("--to_offset=", last - 1)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<google::protobuf::Struct> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(At(lines[0], "offset").number_value(), last - 2);
  EXPECT_EQ(Str(lines[0], "value.payload.name"), "甲");
  EXPECT_EQ(Str(lines[1], "value.payload.name"), "乙");
  // From an offset to the end.
  r = Replay({topic, part, absl::StrCat("--from_offset=", last)});
  lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(Str(lines[0], "value.payload.name"), "丙");

  // By time: only what was published after `between`, then only before.
  const std::string at = absl::FormatTime(absl::RFC3339_full, between,
                                          absl::FixedTimeZone(8 * 3600));
  r = Replay(
      {topic, subject, absl::StrCat("--from_time=", at),
       absl::StrCat("--to_time=", absl::FormatTime(absl::RFC3339_full, after,
                                                   absl::UTCTimeZone()))});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(Str(lines[0], "value.payload.name"), "丙");
  r = Replay({topic, subject, absl::StrCat("--to_time=", at)});
  lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(Str(lines[1], "value.payload.name"), "乙");
  // --limit stops early.
  r = Replay({topic, subject, "--limit=1"});
  EXPECT_EQ(JsonLines(r.out).size(), 1u) << r.out;
}

TEST_F(ReplayProduceTest, DepartmentAndDataClassFilters) {
  const std::string s = CitizenId(131);
  ASSERT_EQ(Produce("public_security",
                    WriteFile("ps.jsonl", {HouseholdLine(s, "丁", 1),
                                           VehicleLine(s, "浙A13131")}))
                .exit_code,
            0);
  const std::string marriage = absl::StrCat(
      R"({"subject":{"id":")", s,
      R"("},"data_class":"marriage_registration","source_version":"1","op":"OP_UPSERT","payload":{"@type":"type.googleapis.com/datarun.v1.departments.MarriageRegistration"}})");
  CommandResult r = Produce("civil_affairs", WriteFile("ca.jsonl", {marriage}));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const std::string subject = absl::StrCat("--subject=", s);
  r = Replay({"--topic=dr.data.*", subject});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonLines(r.out).size(), 3u) << r.out;
  r = Replay({"--topic=dr.data.*", subject, "--department=civil_affairs"});
  std::vector<google::protobuf::Struct> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(Str(lines[0], "value.data_class"), "marriage_registration");
  r = Replay(
      {"--topic=dr.data.*", subject, "--data_class=vehicle_registration"});
  lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(Str(lines[0], "value.payload.plate_number"), "浙A13131");
  // Several topics, comma-separated.
  r = Replay({absl::StrCat("--topic=", kHousehold, ",", kVehicle), subject});
  EXPECT_EQ(JsonLines(r.out).size(), 2u) << r.out;
}

TEST_F(ReplayProduceTest, QueryShowsOnAuditAndQueryTopics) {
  const std::string s = CitizenId(141);
  ASSERT_EQ(Produce("public_security",
                    WriteFile("q.jsonl", {HouseholdLine(s, "戊", 1)}))
                .exit_code,
            0);
  const std::string keys = fixture_->keys_dir();
  ASSERT_FALSE(keys.empty());
  // Ingest is asynchronous: ask until the answer discloses the record.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  CommandResult r;
  bool disclosed = false;
  while (!disclosed && absl::Now() < deadline) {
    r = Datarun("query",
                {Brokers(), "--as=courts", "--matter=court_case_filing",
                 absl::StrCat("--subject=", s), absl::StrCat("--keys=", keys),
                 "--officer=clerk-7"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    disclosed = r.out.find("戊") != std::string::npos;
    if (!disclosed) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(disclosed) << r.out;

  r = Replay({"--topic=dr.audit", absl::StrCat("--subject=", s),
              "--matter=court_case_filing"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<google::protobuf::Struct> lines = JsonLines(r.out);
  ASSERT_GE(lines.size(), 1u) << r.out;
  const auto& last = lines.back();
  EXPECT_EQ(Str(last, "event.requester_department"), "courts");
  EXPECT_EQ(Str(last, "event.officer_id"), "clerk-7");
  EXPECT_EQ(Str(last, "event.subject.id"), s);
  EXPECT_EQ(Str(last, "event.decision"), "DECISION_ALLOW");
  EXPECT_FALSE(Str(last, "value.event_hash").empty());
  EXPECT_EQ(Str(last, "value.event_bytes"), "");  // printed as "event"
  // Another matter's filter leaves the query's events out.
  r = Replay({"--topic=dr.audit", absl::StrCat("--subject=", s),
              "--matter=birth_registration"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, IsEmpty());

  r = Replay({"--topic=dr.query.req", "--department=courts",
              absl::StrCat("--subject=", s)});
  lines = JsonLines(r.out);
  ASSERT_GE(lines.size(), 1u) << r.out;
  EXPECT_EQ(Str(lines.back(), "value.matter"), "court_case_filing");
  EXPECT_FALSE(Str(lines.back(), "value.signature").empty());
  r = Replay({"--topic=dr.query.resp.courts", absl::StrCat("--subject=", s)});
  lines = JsonLines(r.out);
  ASSERT_GE(lines.size(), 1u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("戊"));
}

TEST_F(ReplayProduceTest, FollowTailsUntilInterrupted) {
  const std::string s = CitizenId(171);
  // SIGINT after 10 s; --preserve-status: replay's own exit code.
  CommandResult tail;
  std::thread follower([&] {
    tail = test_support::RunCommand(
        "/usr/bin/timeout",
        {"--preserve-status", "-s", "INT", "10", "tools/datarun", "replay",
         Brokers(), absl::StrCat("--topic=", kHousehold),
         absl::StrCat("--subject=", s), "--follow"});
  });
  // Published after the follower read the high watermarks and joined.
  absl::SleepFor(absl::Seconds(5));
  CommandResult r = Produce(
      "public_security", WriteFile("tail.jsonl", {HouseholdLine(s, "癸", 1)}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  follower.join();
  EXPECT_EQ(tail.exit_code, 0) << tail.err;
  std::vector<google::protobuf::Struct> lines = JsonLines(tail.out);
  ASSERT_EQ(lines.size(), 1u) << tail.out << tail.err;
  EXPECT_EQ(Str(lines[0], "value.payload.name"), "癸");
}

TEST_F(ReplayProduceTest, DlqEntryShowsTheBytesAndTheReason) {
  // What a broken department client might send: bytes that are no Record.
  const std::string s = CitizenId(181);
  const std::string garbage = "\x0a\xff not a record";
  {
    auto producer = exchange_->broker()->NewProducer({});
    ASSERT_TRUE(producer.ok()) << producer.status();
    broker::OutgoingMessage m;
    m.topic = kHousehold;
    m.key = s;
    m.value = garbage;
    ASSERT_TRUE((*producer)->Send(m, nullptr).ok());
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  }
  // The exchange's ingest moves it to dr.dlq.public_security.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  std::vector<google::protobuf::Struct> lines;
  while (lines.empty() && absl::Now() < deadline) {
    CommandResult r = Replay({"--topic=dr.dlq.*", absl::StrCat("--subject=", s),
                              "--department=public_security"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    lines = JsonLines(r.out);
  }
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Str(lines[0], "topic"), "dr.dlq.public_security");
  EXPECT_EQ(Str(lines[0], "value_base64"), absl::Base64Escape(garbage));
  EXPECT_FALSE(Str(lines[0], "headers.dr-dlq-reason").empty());
  EXPECT_EQ(Str(lines[0], "headers.dr-dlq-topic"), kHousehold);
}

TEST_F(ReplayProduceTest, IdleTopicEndsAtOnce) {
  const absl::Time start = absl::Now();
  CommandResult r = Replay({"--topic=dr.dlq.courts"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(ReplayProduceTest, BadFlagsExit2NamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "--topic is required"},
      {{"--topic=dr.nope"}, "--topic: no topic dr.nope"},
      {{"--topic=dr.nope.*"}, "--topic: no topic matches dr.nope.*"},
      {{"--topic=dr.audit", "--from_offset=5", "--to_offset=3"},
       "--from_offset=5 is after --to_offset=3"},
      {{"--topic=dr.audit", "--from_time=yesterday"}, "--from_time=yesterday"},
      {{"--topic=dr.audit", "--from_time=2026-11-26T11:00:00Z",
        "--to_time=2026-11-26T10:00:00Z"},
       "is after --to_time"},
      {{"--topic=dr.audit", "--from_offset=1",
        "--from_time=2026-11-26T11:00:00Z"},
       "not both"},
      {{"--topic=dr.audit", "--subject=123"}, "--subject=123"},
      {{"--topic=dr.audit", "--department=Public-Security"},
       "--department=Public-Security: not a catalog id"},
      {{"--topic=dr.audit", "--partition=99"}, "--partition=99"},
      {{"--topic=dr.audit", "--limit=-1"}, "--limit"},
  };
  for (const Case& c : cases) {
    CommandResult r = Replay(c.args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(c.args, " ") << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << absl::StrJoin(c.args, " ");
    EXPECT_THAT(r.out, IsEmpty());
  }
  CommandResult r = Datarun("produce", {Brokers(), "--as=public_security"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--file is required"));
  r = Datarun("produce", {Brokers(), "--as=no_such_dept", "--file=-"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--as=no_such_dept"));
}

TEST_F(ReplayProduceTest, InvalidLinesPublishNothing) {
  const std::string s = CitizenId(151);
  const std::string path = WriteFile(
      "bad.jsonl",
      {HouseholdLine(s, "己", 1),
       R"({"subject":{"id":")" + s + R"("},"data_class":)",  // truncated
       // Not public_security's class.
       absl::StrCat(
           R"({"subject":{"id":")", s,
           R"("},"data_class":"marriage_registration","source_version":"1","op":"OP_UPSERT","payload":{"@type":"type.googleapis.com/datarun.v1.departments.MarriageRegistration"}})"),
       HouseholdLine("110105194912310021", "庚", 1),  // bad check digit
       HouseholdLine(s, "辛", 0),                     // version 0
       VehicleLine(s, "")});                          // no record key
  CommandResult r = Produce("public_security", path);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("line 2: not a JSON object"));
  EXPECT_THAT(r.err, HasSubstr("line 3: department 'public_security' is not "
                               "the authoritative source of "
                               "'marriage_registration'"));
  EXPECT_THAT(r.err, HasSubstr("line 4: subject id"));
  EXPECT_THAT(r.err, HasSubstr("line 5: version must be positive"));
  EXPECT_THAT(r.err, HasSubstr("line 6: record_key is required"));
  EXPECT_THAT(r.err, Not(HasSubstr("line 1:")));
  EXPECT_THAT(r.err, HasSubstr("nothing published"));
  EXPECT_THAT(r.out, IsEmpty());
  // Line 1 was valid, but was not sent either.
  r = Replay({"--topic=dr.data.*", absl::StrCat("--subject=", s)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, IsEmpty());
}

TEST(ReplayUnreachable, BusDownExits1InBoundedTime) {
  const absl::Time start = absl::Now();
  CommandResult r = Datarun(
      "replay", {"--brokers=127.0.0.1:1", "--topic=dr.audit", "--timeout=2s"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("error:"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  const std::string file =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/unreachable.jsonl");
  std::ofstream(file) << HouseholdLine(CitizenId(161), "壬", 1) << "\n";
  r = Datarun("produce", {"--brokers=127.0.0.1:1", "--as=public_security",
                          absl::StrCat("--file=", file), "--timeout=2s"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

}  // namespace
}  // namespace datarun
