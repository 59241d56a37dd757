#include "tools/cli/common_flags.h"

#include "absl/flags/flag.h"
#include "absl/time/time.h"

ABSL_FLAG(std::string, out, "",
          "output of the command: keys directory (keygen), data directory "
          "(gen), rendered file (render)");
ABSL_FLAG(std::string, catalog, "exchange/catalog/zhejiang.textproto",
          "catalog textproto");
ABSL_FLAG(std::string, brokers, "",
          "Kafka bootstrap servers, host:port[,host:port...]");
ABSL_FLAG(std::string, certificate, "",
          "verify, render: certificate file (proto3 JSON or binary)");
ABSL_FLAG(std::string, as, "",
          "query, produce: catalog id of the acting department (the "
          "requester; the publisher)");
ABSL_FLAG(std::string, department, "",
          "keygen: catalog id of the department owning the seal, e.g. "
          "public_security; replay: only entries published or requested by "
          "this department");
ABSL_FLAG(std::string, matter, "",
          "query: matter id the request is for; replay: only audit and query "
          "entries of this matter");
ABSL_FLAG(std::string, subject, "",
          "query: subject id (citizen id or unified social credit code); "
          "replay: only entries about this subject");
ABSL_FLAG(int32_t, partition, -1,
          "audit verify, replay: only this partition (-1: all)");
ABSL_FLAG(int64_t, from_offset, 0,
          "audit verify: start every partition at this offset (0: from the "
          "first link, which must be sequence 0); replay: first offset read");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "query: how long to wait for the response; replay, produce: how "
          "long to wait for the bus");
