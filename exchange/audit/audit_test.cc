#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/audit_sink.h"
#include "exchange/audit/chain.h"
#include "exchange/audit/chain_verifier.h"
#include "exchange/audit/usage.h"
#include "exchange/seal/fake/fake_seal.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/keyring.h"
#include "gtest/gtest.h"

namespace datarun::audit {
namespace {

// A fresh Ed25519 key pair in a new directory under TEST_TMPDIR.
struct TestKey {
  std::unique_ptr<seal::Signer> signer;
  std::string public_pem;
};
TestKey NewKey(const seal::KeyIdentity& id) {
  static int counter = 0;
  const char* tmp = getenv("TEST_TMPDIR");
  seal::KeyStore store(
      absl::StrCat(tmp ? tmp : "/tmp", "/keys-", getpid(), "-", counter++));
  auto pair = store.Generate(id.department, id.key_id, id.algorithm);
  EXPECT_TRUE(pair.ok()) << pair.status();
  auto signer = store.LoadSigner(id.department, id.key_id);
  EXPECT_TRUE(signer.ok()) << signer.status();
  return {std::move(*signer), pair->public_pem};
}

using datarun::v1::AuditEvent;
using datarun::v1::ChainLink;
using datarun::v1::SealedCheckpoint;

constexpr char kSubjectA[] = "330106195001010011";
constexpr char kSubjectB[] = "33010619500101002X";

AuditEvent Event(int i, absl::string_view subject) {
  AuditEvent e;
  e.set_request_id(absl::StrCat("req-", i));
  e.set_requester_department("civil_affairs");
  e.set_officer_id(absl::StrCat("officer-", i % 3));
  e.set_matter("low_income_assistance_application");
  e.mutable_subject()->set_id(std::string(subject));
  e.set_kind(datarun::v1::QUERY_KIND_PROFILE);
  e.set_decision(datarun::v1::DECISION_ALLOW);
  e.set_rule("agreement.civil_affairs.low_income");
  e.mutable_time()->set_seconds(1'790'000'000 + i);
  auto* d = e.add_disclosed();
  d->set_data_class("household_registration");
  d->add_fields("address");
  return e;
}

class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seal::KeyIdentity id{"big_data_bureau", "bdb-2026",
                         seal::SealAlgorithm::kEd25519};
    TestKey key = NewKey(id);
    ASSERT_NE(key.signer, nullptr);
    signer_ = std::move(key.signer);
    ASSERT_TRUE(
        keyring_.Add({id.department, id.key_id, id.algorithm, key.public_pem})
            .ok());
    AuditLogOptions options;
    options.checkpoint_every = 4;
    log_ = std::make_unique<AuditLog>(&sink_, signer_.get(), nullptr, options);
    for (int i = 0; i < 10; ++i) {
      auto link = log_->Record(7, Event(i, i % 2 ? kSubjectA : kSubjectB));
      ASSERT_TRUE(link.ok()) << link.status();
      EXPECT_EQ(link->sequence(), static_cast<uint64_t>(i));
    }
    links_ = sink_.links();
    checkpoints_ = log_->checkpoints();
  }

  absl::Status Verify(const std::vector<ChainLink>& links,
                      const std::vector<SealedCheckpoint>& cps) {
    return VerifyChain(7, links, cps, keyring_).status();
  }

  MemoryAuditSink sink_;
  std::unique_ptr<seal::Signer> signer_;
  seal::SealKeyring keyring_;
  std::unique_ptr<AuditLog> log_;
  std::vector<ChainLink> links_;
  std::vector<SealedCheckpoint> checkpoints_;
};

TEST_F(AuditChainTest, IntactChainVerifies) {
  ASSERT_EQ(links_.size(), 10u);
  ASSERT_EQ(checkpoints_.size(), 2u);  // after links 3 and 7
  EXPECT_EQ(checkpoints_[0].sequence(), 3u);
  EXPECT_EQ(checkpoints_[1].sequence(), 7u);
  auto report = VerifyChain(7, links_, checkpoints_, keyring_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->links, 10u);
  EXPECT_EQ(report->checkpoints, 2u);
  AuditEvent e;
  ASSERT_TRUE(e.ParseFromString(links_[5].event_bytes()));
  EXPECT_EQ(e.event_id(), "7-5");
}

TEST_F(AuditChainTest, CheckpointsOfOtherPartitionsAreSkipped) {
  auto cps = checkpoints_;
  SealedCheckpoint other = cps[0];
  other.set_partition(3);  // seal no longer verifies, but is not ours
  cps.push_back(other);
  auto report = VerifyChain(7, links_, cps, keyring_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->checkpoints, 2u);
  EXPECT_FALSE(VerifyChain(3, {}, cps, keyring_).ok());
}

TEST_F(AuditChainTest, AlteredEventDetected) {
  auto links = links_;
  AuditEvent e;
  ASSERT_TRUE(e.ParseFromString(links[4].event_bytes()));
  e.set_officer_id("someone-else");
  links[4].set_event_bytes(e.SerializeAsString());
  absl::Status st = Verify(links, checkpoints_);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("link #4"), std::string::npos) << st;
  EXPECT_NE(st.message().find("altered"), std::string::npos) << st;
}

TEST_F(AuditChainTest, AlteredAndRehashedEventDetectedByNextLink) {
  auto links = links_;
  AuditEvent e;
  ASSERT_TRUE(e.ParseFromString(links[4].event_bytes()));
  e.set_decision(datarun::v1::DECISION_DENY);
  links[4] = MakeLink(7, 4, links[4].prev_hash(), e.SerializeAsString());
  absl::Status st = Verify(links, {});
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("link #5"), std::string::npos) << st;
}

TEST_F(AuditChainTest, WholeTailRewrittenDetectedByCheckpoint) {
  // An insider recomputes every hash from link 2 on: the chain is
  // self-consistent again, only the sealed head gives it away.
  auto links = links_;
  AuditEvent e;
  ASSERT_TRUE(e.ParseFromString(links[2].event_bytes()));
  e.set_matter("something_else");
  links[2] = MakeLink(7, 2, links[1].event_hash(), e.SerializeAsString());
  for (int i = 3; i < 10; ++i) {
    links[i] =
        MakeLink(7, i, links[i - 1].event_hash(), links[i].event_bytes());
  }
  EXPECT_TRUE(Verify(links, {}).ok());
  absl::Status st = Verify(links, checkpoints_);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("sequence 3"), std::string::npos) << st;
}

TEST_F(AuditChainTest, RemovedEventDetected) {
  auto links = links_;
  links.erase(links.begin() + 6);
  absl::Status st = Verify(links, checkpoints_);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("removed"), std::string::npos) << st;
}

TEST_F(AuditChainTest, RemovedTailDetectedByCheckpoint) {
  auto links = links_;
  links.resize(6);  // checkpoint at sequence 7 is beyond the end
  absl::Status st = Verify(links, checkpoints_);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("beyond"), std::string::npos) << st;
}

TEST_F(AuditChainTest, ReorderedEventsDetected) {
  auto links = links_;
  std::swap(links[2], links[3]);
  absl::Status st = Verify(links, checkpoints_);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("link #2"), std::string::npos) << st;
}

TEST_F(AuditChainTest, InsertedEventDetected) {
  auto links = links_;
  ChainLink forged = MakeLink(7, 5, links[4].event_hash(),
                              Event(99, kSubjectA).SerializeAsString());
  links.insert(links.begin() + 5, forged);
  absl::Status st = Verify(links, checkpoints_);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("link #6"), std::string::npos) << st;
}

TEST_F(AuditChainTest, ForgedCheckpointDetected) {
  auto cps = checkpoints_;
  // Pointing a genuine seal at another head invalidates the signature.
  cps[1].set_head_hash(links_[6].event_hash());
  cps[1].set_sequence(6);
  absl::Status st = Verify(links_, cps);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated) << st;

  // A checkpoint sealed by a key the keyring does not know.
  seal::KeyIdentity other{"big_data_bureau", "stolen",
                          seal::SealAlgorithm::kEd25519};
  TestKey stolen = NewKey(other);
  ASSERT_NE(stolen.signer, nullptr);
  auto forged =
      SealCheckpoint(*stolen.signer, 7, 9, links_[9].event_hash(), absl::Now());
  ASSERT_TRUE(forged.ok());
  st = Verify(links_, {*forged});
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound) << st;

  // An unsealed checkpoint.
  auto unsealed = checkpoints_[0];
  unsealed.clear_seal();
  EXPECT_EQ(Verify(links_, {unsealed}).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuditChainTest, UsageListsSubjectsEntriesNewestFirst) {
  auto usage = UsageFor(links_, kSubjectA);
  ASSERT_TRUE(usage.ok()) << usage.status();
  ASSERT_EQ(usage->size(), 5u);
  EXPECT_EQ((*usage)[0].audit_event_id(), "7-9");
  EXPECT_EQ((*usage)[4].audit_event_id(), "7-1");
  EXPECT_EQ((*usage)[0].requester_department(), "civil_affairs");
  EXPECT_EQ((*usage)[0].matter(), "low_income_assistance_application");
  EXPECT_EQ((*usage)[0].data_classes(0), "household_registration");
  auto none = UsageFor(links_, "330106195001010038");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(AuditLog, FailedAckWithholdsAndStopsPartition) {
  MemoryAuditSink sink;
  AuditLog log(&sink, nullptr, nullptr);
  ASSERT_TRUE(log.Record(0, Event(0, kSubjectA)).ok());
  sink.Fail(absl::UnavailableError("broker down"));
  auto r = log.Record(0, Event(1, kSubjectA));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  sink.Fail(absl::OkStatus());
  EXPECT_EQ(log.Record(0, Event(2, kSubjectA)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Other partitions go on.
  EXPECT_TRUE(log.Record(1, Event(3, kSubjectA)).ok());
  EXPECT_EQ(log.Checkpoint(1).status().code(),
            absl::StatusCode::kFailedPrecondition);  // no signer
}

TEST(AuditLog, ConcurrentAppendsFormOneChainPerPartition) {
  MemoryAuditSink sink;
  AuditLog log(&sink, nullptr, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE(log.Record(i % 2, Event(t * 1000 + i, kSubjectA)).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<ChainLink> p0, p1;
  for (const auto& l : sink.links())
    (l.partition() == 0 ? p0 : p1).push_back(l);
  seal::SealKeyring keyring;
  EXPECT_TRUE(VerifyChain(0, p0, {}, keyring).ok());
  EXPECT_TRUE(VerifyChain(1, p1, {}, keyring).ok());
  EXPECT_EQ(p0.size(), 400u);
}

// The resolver appends one reused event per thread; the links must be
// byte for byte those Record makes of fresh events, and the chain verify.
TEST(AuditLog, AppendOfAReusedEventMakesTheLinksRecordMakes) {
  MemoryAuditSink by_record, by_append;
  AuditLog record_log(&by_record, nullptr, nullptr);
  AuditLog append_log(&by_append, nullptr, nullptr);
  AuditEvent reused;
  for (int i = 0; i < 6; ++i) {
    // Varying shapes, so a field left over from the previous use would show.
    AuditEvent e = Event(i, i % 2 ? kSubjectA : kSubjectB);
    if (i % 3 == 0) e.mutable_on_behalf_of()->set_id(kSubjectB);
    if (i % 2 == 0) e.add_consent_exempt_classes("real_estate_title");
    for (int k = 0; k < i % 3; ++k) e.mutable_disclosed(0)->add_fields("x");
    auto want = record_log.Record(3, e);
    ASSERT_TRUE(want.ok()) << want.status();
    reused.Clear();
    reused.CopyFrom(e);
    auto got = append_log.Append(3, &reused);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->partition, 3);
    EXPECT_EQ(got->sequence, want->sequence());
    EXPECT_EQ(reused.event_id(), absl::StrCat("3-", i));
  }
  const std::vector<ChainLink> a = by_record.links(), b = by_append.links();
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].SerializeAsString(), a[i].SerializeAsString()) << i;
  }
  seal::SealKeyring keyring;
  EXPECT_TRUE(VerifyChain(3, b, {}, keyring).ok());
  // A refused write stops the chain for Append as for Record.
  by_append.Fail(absl::UnavailableError("broker down"));
  EXPECT_EQ(append_log.Append(3, &reused).status().code(),
            absl::StatusCode::kUnavailable);
  by_append.Fail(absl::OkStatus());
  EXPECT_EQ(append_log.Append(3, &reused).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// The resolver's PROFILE path encodes its events itself (AuditEventWriter)
// and AppendEncoded puts the event id in front: the links must be those
// Record makes of the same events, and stop the same way.
TEST(AuditLog, AppendEncodedMakesTheLinksRecordMakes) {
  MemoryAuditSink by_record, by_encoded;
  AuditLog record_log(&by_record, nullptr, nullptr);
  AuditLog encoded_log(&by_encoded, nullptr, nullptr);
  for (int i = 0; i < 6; ++i) {
    AuditEvent e = Event(i, i % 2 ? kSubjectA : kSubjectB);
    if (i % 3 == 0) e.mutable_on_behalf_of()->set_id(kSubjectB);
    if (i % 2 == 0) e.add_consent_exempt_classes("real_estate_title");
    // A request id past 127 bytes: a two-byte length in front of it.
    if (i == 4) e.set_request_id(std::string(300, 'r'));
    auto want = record_log.Record(5, e);
    ASSERT_TRUE(want.ok()) << want.status();
    e.clear_event_id();
    auto got = encoded_log.AppendEncoded(5, e.SerializeAsString());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->partition, 5);
    EXPECT_EQ(got->sequence, want->sequence());
  }
  const std::vector<ChainLink> a = by_record.links(), b = by_encoded.links();
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].SerializeAsString(), a[i].SerializeAsString()) << i;
    AuditEvent parsed;
    ASSERT_TRUE(parsed.ParseFromString(b[i].event_bytes()));
    EXPECT_EQ(parsed.event_id(), absl::StrCat("5-", i));
  }
  seal::SealKeyring keyring;
  EXPECT_TRUE(VerifyChain(5, b, {}, keyring).ok());
  by_encoded.Fail(absl::UnavailableError("broker down"));
  EXPECT_EQ(encoded_log.AppendEncoded(5, "").status().code(),
            absl::StatusCode::kUnavailable);
  by_encoded.Fail(absl::OkStatus());
  EXPECT_EQ(encoded_log.AppendEncoded(5, "").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(AuditLog, ResumeContinuesAnExistingChain) {
  MemoryAuditSink sink;
  {
    AuditLog first(&sink, nullptr, nullptr);
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(first.Record(2, Event(i, kSubjectA)).ok());
  }
  auto links = sink.links();
  AuditLog second(&sink, nullptr, nullptr);
  ASSERT_TRUE(
      second.Resume(2, links.back().sequence(), links.back().event_hash())
          .ok());
  auto link = second.Record(2, Event(3, kSubjectB));
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->sequence(), 3u);
  seal::SealKeyring keyring;
  EXPECT_TRUE(VerifyChain(2, sink.links(), {}, keyring).ok());
  EXPECT_EQ(second.Resume(2, 0, std::string(32, 'x')).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(AuditChainTest, StreamingVerifierOverStoredBytesReportsOffsets) {
  ChainVerifier v(7, keyring_);
  for (const auto& cp : checkpoints_) ASSERT_TRUE(v.AddCheckpoint(cp).ok());
  for (size_t i = 0; i < links_.size(); ++i) {
    ASSERT_TRUE(v.AddLinkBytes(links_[i].SerializeAsString(), 100 + i).ok())
        << v.status();
  }
  ASSERT_TRUE(v.Finish().ok()) << v.status();
  EXPECT_EQ(v.report().links, 10u);
  EXPECT_EQ(v.report().first_sequence, 0u);
  EXPECT_EQ(v.report().last_sequence, 9u);
  EXPECT_EQ(v.report().last_offset, 109);
  EXPECT_EQ(v.report().checkpoints_verified, 2u);
  EXPECT_EQ(v.report().head_hash, links_[9].event_hash());

  // One byte of event 6 flipped in the stored record.
  ChainVerifier bad(7, keyring_);
  for (size_t i = 0; i < links_.size(); ++i) {
    std::string stored = links_[i].SerializeAsString();
    if (i == 6) stored[stored.size() - 3] ^= 1;
    if (!bad.AddLinkBytes(stored, 100 + i).ok()) break;
  }
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(bad.status().message().find("offset 106"), std::string::npos)
      << bad.status();
  EXPECT_TRUE(bad.report().broken);
  EXPECT_EQ(bad.report().broken_offset, 106);
  EXPECT_EQ(bad.report().broken_sequence, 6u);
  EXPECT_EQ(bad.report().links, 6u);

  // Bytes that are not a ChainLink at all.
  ChainVerifier garbage(7, keyring_);
  EXPECT_EQ(garbage.AddLinkBytes("\xff\xff\xff", 5).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(garbage.report().broken_offset, 5);

  // Correctly chained bytes that are not protobuf: the exchange chained
  // garbage.
  ChainVerifier chained_garbage(7, keyring_);
  EXPECT_EQ(chained_garbage
                .AddLink(MakeLink(7, 0, GenesisHash(), std::string("\x0a\xff")))
                .code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(AuditChainTest, SuffixVerificationAnchorsAtFirstLink) {
  ChainVerifier v(7, keyring_, {.parse_events = true, .from_genesis = false});
  for (const auto& cp : checkpoints_) ASSERT_TRUE(v.AddCheckpoint(cp).ok());
  for (size_t i = 5; i < links_.size(); ++i) {
    ASSERT_TRUE(v.AddLink(links_[i], i).ok()) << v.status();
  }
  ASSERT_TRUE(v.Finish().ok()) << v.status();
  EXPECT_EQ(v.report().first_sequence, 5u);
  EXPECT_EQ(v.report().checkpoints_verified, 1u);  // at 7
  EXPECT_EQ(v.report().checkpoints_skipped, 1u);   // at 3, before the suffix

  // From genesis, the same suffix is links removed from the start.
  ChainVerifier whole(7, keyring_);
  EXPECT_EQ(whole.AddLink(links_[5]).code(), absl::StatusCode::kDataLoss);
}

TEST(AuditLog, ChainContinuesFromTheBusAfterRestartAndRelease) {
  MemoryAuditSink bus;
  seal::KeyIdentity id{"big_data_bureau", "bdb-2026",
                       seal::SealAlgorithm::kEd25519};
  TestKey key = NewKey(id);
  ASSERT_NE(key.signer, nullptr);
  seal::SealKeyring keyring;
  ASSERT_TRUE(
      keyring.Add({id.department, id.key_id, id.algorithm, key.public_pem})
          .ok());
  AuditLogOptions options;
  options.checkpoint_every = 3;
  {
    AuditLog first(&bus, key.signer.get(), nullptr, options);
    first.ConnectBus(&bus, &bus);
    for (int i = 0; i < 4; ++i)
      ASSERT_TRUE(first.Record(1, Event(i, kSubjectA)).ok());
    auto sealed = first.CheckpointAll(absl::Seconds(5));
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(*sealed, 1);  // sequence 3; sequence 2 was sealed by the 3rd
    EXPECT_EQ(*first.CheckpointAll(absl::Seconds(5)), 0);  // nothing new
  }
  ASSERT_EQ(bus.checkpoints().size(), 2u);
  {
    // A restarted exchange: picks the chain up from the bus.
    AuditLog second(&bus, key.signer.get(), nullptr, options);
    second.ConnectBus(&bus, &bus);
    auto link = second.Record(1, Event(4, kSubjectB));
    ASSERT_TRUE(link.ok()) << link.status();
    EXPECT_EQ(link->sequence(), 4u);
    // Partition 1 goes to another instance, which appends ...
    ASSERT_TRUE(second.Release(1).ok());
    EXPECT_EQ(bus.checkpoints().size(), 3u);  // head 4 sealed on release
    AuditLog other(&bus, key.signer.get(), nullptr, options);
    other.ConnectBus(&bus, &bus);
    ASSERT_TRUE(other.Record(1, Event(5, kSubjectA)).ok());
    // ... and it comes back: reloaded, not continued from sequence 5.
    link = second.Record(1, Event(6, kSubjectB));
    ASSERT_TRUE(link.ok()) << link.status();
    EXPECT_EQ(link->sequence(), 6u);
  }
  auto report = VerifyChain(1, bus.links(), bus.checkpoints(), keyring);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->links, 7u);
  // At 2 (every 3), 3 (shutdown), 4 (release), 5 (every 3, by the other).
  EXPECT_EQ(report->checkpoints, 4u);
}

TEST(AuditLog, UnreadableHeadWithholdsTheResponse) {
  MemoryAuditSink bus;
  AuditLog log(&bus, nullptr, nullptr);
  log.ConnectBus(&bus, nullptr);
  bus.Fail(absl::UnavailableError("broker down"));
  auto r = log.Record(0, Event(0, kSubjectA));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("last link"), std::string::npos)
      << r.status();
  bus.Fail(absl::OkStatus());  // not stopped: the next request loads it
  EXPECT_TRUE(log.Record(0, Event(1, kSubjectA)).ok());
  EXPECT_EQ(bus.links().size(), 1u);
}

}  // namespace
}  // namespace datarun::audit
