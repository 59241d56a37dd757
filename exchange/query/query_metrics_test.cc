// QueryMetrics on a real prometheus::Registry, read back through the text
// exposition format as Prometheus would scrape it: series per kind and
// matter, unknown matters and rules folded into bounded labels, the chain
// gauge never going back, checkpoints counted on a good ack only.
#include "exchange/query/query_metrics.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/metrics_text.h"

namespace datarun::query {
namespace {

using test_support::Scrape;

double Value(const std::string& text, const std::string& series) {
  return test_support::SeriesValue(text, series);
}

datarun::v1::QueryResponse Response(datarun::v1::Decision d,
                                    const std::string& rule,
                                    const std::string& events) {
  datarun::v1::QueryResponse r;
  r.set_decision(d);
  r.set_denial_rule(rule);
  r.set_audit_event_id(events);
  return r;
}

TEST(QueryMetricsTest, CountsByKindMatterDecisionAndRule) {
  prometheus::Registry registry;
  QueryMetrics m(registry, {"pension", "marriage"}, 4);
  m.Observe(datarun::v1::QUERY_KIND_PROFILE, "pension",
            Response(datarun::v1::DECISION_ALLOW, "", "2-7"),
            absl::Milliseconds(3));
  m.Observe(
      datarun::v1::QUERY_KIND_VERIFY, "no_such_matter",
      Response(datarun::v1::DECISION_DENY, "policy.unknown_matter", "1-0"),
      absl::Seconds(2));
  m.Observe(datarun::v1::QUERY_KIND_VERIFY, "marriage",
            Response(datarun::v1::DECISION_DENY, "policy.made_up", "1-1"),
            absl::Milliseconds(1));
  m.Failed(datarun::v1::QUERY_KIND_DOSSIER);
  const std::string t = Scrape(registry);

  EXPECT_EQ(Value(t,
                  "datarun_query_requests_total{decision=\"allow\","
                  "kind=\"profile\"}"),
            1);
  EXPECT_EQ(Value(t,
                  "datarun_query_requests_total{decision=\"deny\","
                  "kind=\"verify\"}"),
            2);
  EXPECT_EQ(Value(t,
                  "datarun_query_requests_total{decision=\"error\","
                  "kind=\"dossier\"}"),
            1);
  EXPECT_EQ(Value(t,
                  "datarun_query_requests_total{decision=\"allow\","
                  "kind=\"verify\"}"),
            0);
  EXPECT_EQ(
      Value(t, "datarun_policy_denials_total{rule=\"policy.unknown_matter\"}"),
      1);
  EXPECT_EQ(Value(t, "datarun_policy_denials_total{rule=\"other\"}"), 1);
  EXPECT_EQ(
      Value(t, "datarun_policy_denials_total{rule=\"policy.no_agreement\"}"),
      0);
  // 3 ms: in the 5 ms bucket, not in the 2.5 ms one.
  const std::string pension = "kind=\"profile\",matter=\"pension\"";
  EXPECT_EQ(Value(t, absl::StrCat("datarun_query_duration_seconds_bucket{",
                                  pension, ",le=\"0.0025\"}")),
            0);
  EXPECT_EQ(Value(t, absl::StrCat("datarun_query_duration_seconds_bucket{",
                                  pension, ",le=\"0.005\"}")),
            1);
  EXPECT_NEAR(Value(t, absl::StrCat("datarun_query_duration_seconds_sum{",
                                    pension, "}")),
              0.003, 1e-9);
  // A matter not in the catalog is "unknown", not a new series.
  EXPECT_EQ(Value(t,
                  "datarun_query_duration_seconds_count{kind=\"verify\","
                  "matter=\"unknown\"}"),
            1);
  EXPECT_EQ(t.find("no_such_matter"), std::string::npos);
  // Histograms exist only for the (kind, matter) pairs seen.
  EXPECT_EQ(t.find("kind=\"profile\",matter=\"marriage\""), std::string::npos);
  EXPECT_NE(t.find("kind=\"verify\",matter=\"marriage\""), std::string::npos);
  EXPECT_EQ(t.find("policy.made_up"), std::string::npos);
  EXPECT_EQ(Value(t, "datarun_audit_chain_sequence{partition=\"2\"}"), 7);
  EXPECT_EQ(Value(t, "datarun_audit_chain_sequence{partition=\"1\"}"), 1);
  EXPECT_EQ(Value(t, "datarun_audit_chain_sequence{partition=\"0\"}"), -1);
}

TEST(QueryMetricsTest, ChainGaugeTakesTheHighestOfEveryLinkAndNeverGoesBack) {
  prometheus::Registry registry;
  QueryMetrics m(registry, {}, 2);
  const auto allow = datarun::v1::DECISION_ALLOW;
  m.Observe(datarun::v1::QUERY_KIND_PROFILE, "x",
            Response(allow, "", "0-10,1-4,0-12"), absl::Milliseconds(1));
  // A worker finishing late with an older link, and ids that are not
  // "<partition>-<sequence>" of a known partition: ignored.
  m.Observe(datarun::v1::QUERY_KIND_PROFILE, "x",
            Response(allow, "", "0-11,7-99,junk,1-,-3"), absl::Milliseconds(1));
  const std::string t = Scrape(registry);
  EXPECT_EQ(Value(t, "datarun_audit_chain_sequence{partition=\"0\"}"), 12);
  EXPECT_EQ(Value(t, "datarun_audit_chain_sequence{partition=\"1\"}"), 4);
  EXPECT_EQ(t.find("partition=\"7\""), std::string::npos);
}

class RecordingCheckpointSink : public audit::CheckpointSink {
 public:
  void WriteCheckpoint(const datarun::v1::SealedCheckpoint&,
                       audit::AckCallback done) override {
    dones.push_back(std::move(done));
  }
  std::vector<audit::AckCallback> dones;
};

TEST(QueryMetricsTest, CheckpointsCountedWhenAcknowledged) {
  prometheus::Registry registry;
  QueryMetrics m(registry, {}, 1);
  RecordingCheckpointSink inner;
  CountingCheckpointSink sink(&inner, &m);
  std::vector<absl::Status> acks;
  for (int i = 0; i < 3; ++i) {
    sink.WriteCheckpoint({}, [&acks](absl::Status st) { acks.push_back(st); });
  }
  ASSERT_EQ(inner.dones.size(), 3u);
  EXPECT_EQ(Value(Scrape(registry), "datarun_audit_checkpoints_total"), 0);
  inner.dones[0](absl::OkStatus());
  inner.dones[1](absl::UnavailableError("broker down"));
  inner.dones[2](absl::OkStatus());
  EXPECT_EQ(Value(Scrape(registry), "datarun_audit_checkpoints_total"), 2);
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[1].code(), absl::StatusCode::kUnavailable);  // passed on
}

}  // namespace
}  // namespace datarun::query
