#include "tools/cli/common_flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, out, "",
          "output of the command: keys directory (keygen), data directory "
          "(gen), rendered file (render)");
ABSL_FLAG(std::string, catalog, "exchange/catalog/zhejiang.textproto",
          "catalog textproto");
ABSL_FLAG(std::string, brokers, "",
          "Kafka bootstrap servers, host:port[,host:port...]");
ABSL_FLAG(std::string, certificate, "",
          "verify, render: certificate file (proto3 JSON or binary)");
