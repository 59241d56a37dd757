// A readable rendering of an electronic certificate, as PDF (A4) or PNG:
// the title, serial, the Chinese text, the issuer's red round seal image
// with its name, the issue and expiry dates, and a QR code carrying what a
// verifier needs to fetch and check it (QrPayload).
//
// The rendering is for people; the certificate file (JSON or binary) stays
// the authoritative, verifiable document. Text uses the CJK font
// "WenQuanYi Micro Hei" (Debian fonts-wqy-microhei) through cairo/fontconfig.
//
// Used by `datarun render`. Thread-safety: each call uses its own cairo
// surface; concurrent calls are safe.
#ifndef DATARUN_EXCHANGE_CERTIFICATE_RENDER_CERTIFICATE_RENDERER_H_
#define DATARUN_EXCHANGE_CERTIFICATE_RENDER_CERTIFICATE_RENDERER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/datarun/v1/certificate.pb.h"

namespace datarun::certificate {

enum class RenderFormat { kPdf, kPng };

// From the file extension (.pdf / .png, any case); InvalidArgument otherwise.
absl::StatusOr<RenderFormat> RenderFormatFromPath(absl::string_view path);

// What the QR code carries, one line of ASCII:
//   DRCERT1;s=<serial>;i=<issuer department>;k=<key id>;a=<sm2|ed25519>;
//   h=<hex SHA-256 of the seal signature>
// The serial and issuer identify the certificate; the key id and signature
// hash let a verifier holding the certificate file confirm it is the very
// one printed (the whole certificate with its Chinese text rarely fits a
// scannable QR code).
std::string QrPayload(const v1::Certificate& certificate);

struct RenderOptions {
  std::string title;        // template title, e.g. "无犯罪记录证明"
  std::string issuer_name;  // Chinese department name, e.g. "公安局"
};

absl::Status RenderCertificate(const v1::Certificate& certificate,
                               const RenderOptions& options,
                               const std::string& out_path);

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_RENDER_CERTIFICATE_RENDERER_H_
