#include "tests/integration/harness.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "exchange/ingest/testing/test_data.h"

extern char** environ;

namespace datarun::integration {

std::string TestPath(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return absl::StrCat(base ? base : "/tmp", "/", name);
}

std::string RunfilePath(const std::string& relative) {
  if (access(relative.c_str(), F_OK) == 0) return relative;
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return relative;
  self[n] = '\0';
  return absl::StrCat(self, ".runfiles/datarun/", relative);
}

Process::~Process() { Kill(); }

absl::Status Process::Start(const std::vector<std::string>& argv,
                            const std::string& log_prefix) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out = log_prefix + ".out", err = log_prefix + ".err";
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return absl::InternalError(
        absl::StrCat("spawning ", argv[0], ": ", strerror(rc)));
  }
  return absl::OkStatus();
}

void Process::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

absl::StatusOr<int> Process::Terminate(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  ::kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return -WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  Kill();
  return absl::DeadlineExceededError("process did not exit after SIGTERM");
}

absl::StatusOr<int> Process::Wait(absl::Duration timeout, long* max_rss_kb) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    struct rusage usage;
    pid_t r = wait4(pid_, &status, WNOHANG, &usage);
    if (r == pid_) {
      pid_ = -1;
      if (max_rss_kb != nullptr) *max_rss_kb = usage.ru_maxrss;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return -WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("process did not exit in time");
}

absl::StatusOr<std::string> WaitForFile(const std::string& path,
                                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    if (in && !ss.str().empty()) return ss.str();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("no file ", path));
}

std::map<std::string, uint64_t> ReadStatus(const std::string& path) {
  std::map<std::string, uint64_t> out;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  for (absl::string_view kv : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, '=');
    uint64_t v = 0;
    if (absl::SimpleAtoi(p.second, &v)) out[p.first] = v;
  }
  return out;
}

absl::StatusOr<std::string> StartKafka(Process* kafka,
                                       const std::vector<std::string>& topics,
                                       int partitions) {
  const std::string bootstrap_file = TestPath("kafka.bootstrap");
  std::remove(bootstrap_file.c_str());
  absl::Status s =
      kafka->Start({RunfilePath("broker_adapters/embedded/kafka_embedded"),
                    absl::StrCat("--partitions=", partitions),
                    absl::StrCat("--topics=", absl::StrJoin(topics, ",")),
                    absl::StrCat("--bootstrap_file=", bootstrap_file)},
                   TestPath("kafka"));
  if (!s.ok()) return s;
  auto content = WaitForFile(bootstrap_file, absl::Seconds(60));
  if (!content.ok()) return content.status();
  std::string bootstrap = *content;
  while (!bootstrap.empty() && bootstrap.back() == '\n') bootstrap.pop_back();
  return bootstrap;
}

std::vector<std::string> CatalogTopics() {
  return {"dr.data.public_security.household_registration",
          "dr.data.public_security.vehicle_registration",
          "dr.data.natural_resources.real_estate_title",
          "dr.dlq.public_security",
          "dr.dlq.natural_resources",
          "dr.dlq.unknown"};
}

namespace {

struct ClassSpec {
  const char* dept;
  const char* cls;
  const char* payload_type;
  const char* key_prefix;  // nullptr: single-record class
};
constexpr ClassSpec kClasses[] = {
    {"public_security", "household_registration",
     "datarun.v1.departments.HouseholdRegistration", nullptr},
    {"public_security", "vehicle_registration",
     "datarun.v1.departments.VehicleRegistration", "浙A"},
    {"natural_resources", "real_estate_title",
     "datarun.v1.departments.RealEstateTitle", "T"},
};

uint64_t Next(uint64_t* x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

}  // namespace

std::string EntryName(const std::string& subject, const std::string& cls,
                      const std::string& key) {
  return absl::StrCat(subject, "|", cls, "|", key);
}

Workload::Workload(int subjects, uint64_t seed)
    : subjects_(subjects), rng_(seed | 1) {}

void Workload::Generate(int n) {
  for (int i = 0; i < n; ++i) {
    const std::string subject =
        ingest::testing::CitizenId(Next(&rng_) % subjects_);
    const ClassSpec& c = kClasses[Next(&rng_) % 3];
    const std::string key =
        c.key_prefix == nullptr
            ? ""
            : absl::StrCat(c.key_prefix, 10000 + Next(&rng_) % 3);
    const uint64_t version = ++versions_[EntryName(subject, c.cls, key)];
    const bool del = Next(&rng_) % 10 == 0;
    datarun::v1::Record r = ingest::testing::MakeRecord(
        c.dept, c.cls, subject, key, version, del, 200 + Next(&rng_) % 201);
    if (!del) {
      r.mutable_payload()->set_type_url(
          absl::StrCat("type.googleapis.com/", c.payload_type));
    }
    events_.push_back(std::move(r));
  }
}

absl::Status Workload::Publish(broker::Producer& producer, size_t from,
                               size_t to, absl::Duration pace) {
  std::atomic<uint64_t> failed{0};
  auto on_delivery = [&](const absl::StatusOr<broker::DeliveryReport>& r) {
    if (!r.ok()) failed.fetch_add(1);
  };
  const absl::Time start = absl::Now();
  std::string value;
  for (size_t i = from; i < to; ++i) {
    if (pace > absl::ZeroDuration() && (i - from) % 50 == 0) {
      absl::Time due =
          start + pace * (static_cast<double>(i - from) / (to - from));
      if (due > absl::Now()) absl::SleepFor(due - absl::Now());
    }
    const datarun::v1::Record& r = events_[i];
    r.SerializeToString(&value);
    const std::string topic =
        absl::StrCat("dr.data.", r.source_department(), ".", r.data_class());
    while (true) {
      absl::Status s =
          producer.Send({topic, r.subject().id(), value}, on_delivery);
      if (s.ok()) break;
      if (!broker::IsRetriable(s)) return s;
    }
  }
  absl::Status flushed = producer.Flush(absl::Seconds(60));
  if (!flushed.ok()) return flushed;
  if (failed.load() > 0) {
    return absl::InternalError(
        absl::StrCat(failed.load(), " deliveries failed"));
  }
  return absl::OkStatus();
}

std::map<std::string, Workload::Expected> Workload::FinalState() const {
  std::map<std::string, Expected> out;
  for (const auto& r : events_) {
    Expected& e =
        out[EntryName(r.subject().id(), r.data_class(), r.record_key())];
    e.version = r.source_version();
    e.deleted = r.op() == datarun::v1::Record::OP_DELETE;
    e.payload = e.deleted ? "" : r.payload().value();
  }
  return out;
}

absl::StatusOr<std::map<std::string, Workload::Expected>> ReadState(
    const std::string& dir) {
  state::RocksDbStateOptions o;
  o.dir = dir;
  o.block_cache_bytes = 16 << 20;
  o.write_buffer_bytes = 8 << 20;
  auto store = state::RocksDbStateStore::Open(o);
  if (!store.ok()) return store.status();
  std::map<std::string, Workload::Expected> out;
  absl::Status bad;
  absl::Status s = (*store)->ScanAll([&](const auto& entry) {
    datarun::v1::Record r;
    if (!r.ParseFromArray(entry.record.data(), entry.record.size())) {
      bad = absl::DataLossError("stored record does not parse");
    }
    Workload::Expected& e =
        out[EntryName(entry.address.subject_id, entry.address.data_class,
                      entry.address.record_key)];
    e.version = entry.version;
    e.deleted = entry.deleted;
    e.payload = entry.deleted ? "" : r.payload().value();
  });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

std::string Digest(const std::map<std::string, Workload::Expected>& state) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](absl::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  size_t live = 0;
  for (const auto& [name, e] : state) {
    mix(name);
    mix(absl::StrCat("|", e.version, "|", e.deleted, "|"));
    mix(e.payload);
    if (!e.deleted) ++live;
  }
  return absl::StrFormat("entries=%d live=%d hash=%016x", state.size(), live,
                         h);
}

absl::StatusOr<OffsetTotals> ReadOffsets(const std::string& dir) {
  state::RocksDbStateOptions o;
  o.dir = dir;
  o.block_cache_bytes = 16 << 20;
  o.write_buffer_bytes = 8 << 20;
  auto store = state::RocksDbStateStore::Open(o);
  if (!store.ok()) return store.status();
  auto offsets = (*store)->AllOffsets();
  if (!offsets.ok()) return offsets.status();
  OffsetTotals t;
  for (const auto& [tp, off] : *offsets) {
    t.messages += off.messages;
    t.applied += off.applied;
    t.stale += off.stale;
    t.rejected += off.rejected;
    ++t.partitions;
  }
  return t;
}

}  // namespace datarun::integration
