"""dr_cc_proto_library: C++ code from .proto files with Debian's protoc.

The system protoc (protobuf-compiler 3.21.12) matches the system libprotobuf,
so generated code links against //third_party/system:protobuf. Files are
compiled from the workspace root, so a proto at proto/datarun/v1/x.proto is
imported as "proto/datarun/v1/x.proto" and included as
"proto/datarun/v1/x.pb.h". Well-known types (google/protobuf/*.proto) come
from /usr/include.
"""

def dr_cc_proto_library(name, srcs, deps = [], proto_deps = [], visibility = None):
    """Generates and compiles C++ for `srcs`.

    Args:
      name: the cc_library name.
      srcs: .proto files of this package.
      deps: dr_cc_proto_library targets whose protos `srcs` import.
      proto_deps: the .proto files (filegroups) of those deps, needed as
        inputs so protoc can read the imports.
      visibility: of the cc_library.
    """
    hdrs = [s[:-len(".proto")] + ".pb.h" for s in srcs]
    ccs = [s[:-len(".proto")] + ".pb.cc" for s in srcs]
    native.filegroup(
        name = name + "_protos",
        srcs = srcs + proto_deps,
        visibility = visibility,
    )
    native.genrule(
        name = name + "_gen",
        srcs = srcs + proto_deps,
        outs = hdrs + ccs,
        cmd = "/usr/bin/protoc -I. --cpp_out=$(GENDIR) " +
              " ".join(["$(location %s)" % s for s in srcs]),
        message = "protoc " + name,
    )
    native.cc_library(
        name = name,
        srcs = ccs,
        hdrs = hdrs,
        deps = deps + ["//third_party/system:protobuf"],
        visibility = visibility,
    )
