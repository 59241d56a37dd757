// `datarun render --certificate=FILE --out=cert.pdf|cert.png [--catalog=FILE]`
//
// Renders a certificate for people (exchange/certificate/render/): Chinese
// text, the issuer's red round seal, a QR code for verification. The catalog
// supplies the template title and the issuer's Chinese name. Rendering does
// not verify: run `datarun verify` for that. Exit 0 on success, 1 when the
// file cannot be read or rendered, 2 on usage errors. See docs/cli.md.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "exchange/catalog/catalog.h"
#include "exchange/certificate/document_io.h"
#include "exchange/certificate/render/certificate_renderer.h"
#include "tools/cli/command.h"
#include "tools/cli/common_flags.h"

// Defined by verify_command.cc (a flag is defined once per binary).

namespace datarun::cli {
namespace {

int RenderUsage(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::fprintf(stderr,
               "usage: datarun render --certificate=FILE "
               "--out=cert.pdf|cert.png [--catalog=FILE]\n");
  return 2;
}

int RunRender(const std::vector<std::string>& args) {
  if (!args.empty()) return RenderUsage("unexpected argument " + args[0]);
  const std::string in = absl::GetFlag(FLAGS_certificate);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (in.empty()) return RenderUsage("--certificate is required");
  if (out.empty()) return RenderUsage("--out is required");
  if (auto format = certificate::RenderFormatFromPath(out); !format.ok()) {
    return RenderUsage(std::string(format.status().message()));
  }
  v1::Certificate cert;
  if (absl::Status s = certificate::ReadDocumentFile(in, &cert); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  certificate::RenderOptions options;
  auto catalog = catalog::LoadCatalog(absl::GetFlag(FLAGS_catalog));
  if (!catalog.ok()) {
    std::fprintf(stderr, "error: %s\n",
                 std::string(catalog.status().message()).c_str());
    return 1;
  }
  for (const auto& t : catalog->certificate_templates()) {
    if (t.id() == cert.template_id()) options.title = t.title();
  }
  for (const auto& d : catalog->departments()) {
    if (d.id() == cert.issuer_department()) options.issuer_name = d.name();
  }
  if (absl::Status s = certificate::RenderCertificate(cert, options, out);
      !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::printf("rendered certificate %s to %s\n", cert.serial().c_str(),
              out.c_str());
  return 0;
}

}  // namespace

DATARUN_REGISTER_COMMAND("render",
                         "Render a certificate as PDF or PNG (text, seal, QR)",
                         RunRender);

}  // namespace datarun::cli
