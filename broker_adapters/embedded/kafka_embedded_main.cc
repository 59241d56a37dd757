// kafka_embedded: runs an EmbeddedCluster in its own process until SIGTERM
// or SIGINT (then exits 0). Crash tests use it so the cluster survives a
// SIGKILLed daemon.
//
//   kafka_embedded --brokers=1 --partitions=8 --topics=dr.query.req,dr.audit
//                  --bootstrap_file=/tmp/kafka.bootstrap
//
// The bootstrap address is written to --bootstrap_file (temp file + rename,
// so readers never see a partial line) only once the brokers answer and the
// topics exist; readers poll for the file.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "common/log.h"

ABSL_FLAG(int, brokers, 1, "number of brokers (1..64)");
ABSL_FLAG(int, partitions, 1, "partition count of every --topics topic");
ABSL_FLAG(std::vector<std::string>, topics, {},
          "comma-separated topics to create at start");
ABSL_FLAG(std::string, bootstrap_file, "",
          "write the bootstrap address here when ready (atomic rename)");

namespace {

bool WriteAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs librdkafka's mock Kafka cluster until SIGTERM/SIGINT.");
  absl::ParseCommandLine(argc, argv);

  // Block the stop signals before librdkafka starts threads, so they all
  // inherit the mask and sigwait below is the only receiver.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto cluster =
      datarun::broker::EmbeddedCluster::Start(absl::GetFlag(FLAGS_brokers));
  if (!cluster.ok()) {
    DR_LOG(ERROR) << "cannot start the embedded cluster: " << cluster.status();
    return 1;
  }
  std::vector<std::string> topics;
  for (const std::string& t : absl::GetFlag(FLAGS_topics)) {
    if (!t.empty()) topics.push_back(t);
  }
  absl::Status s =
      (*cluster)->CreateTopics(topics, absl::GetFlag(FLAGS_partitions));
  if (!s.ok()) {
    DR_LOG(ERROR) << "cannot create topics: " << s;
    return 1;
  }
  const std::string& bootstrap = (*cluster)->bootstrap();
  const std::string path = absl::GetFlag(FLAGS_bootstrap_file);
  if (!path.empty() && !WriteAtomically(path, bootstrap + "\n")) {
    DR_LOG(ERROR) << "cannot write --bootstrap_file=" << path;
    return 1;
  }
  DR_LOG(INFO) << "embedded Kafka cluster " << (*cluster)->cluster_id()
               << " with " << (*cluster)->broker_count() << " broker(s) at "
               << bootstrap << ", " << topics.size() << " topic(s)";
  std::printf("%s\n", bootstrap.c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  DR_LOG(INFO) << "signal " << sig << ": stopping the embedded cluster";
  cluster->reset();
  return 0;
}
