{
  # Every src/native/*.cc is compiled into one addon, build/Release/lrnn.node. Files register their exports
  # with LRNN_REGISTER (src/native/registry.h), so adding a kernel never edits this file or addon.cc.
  "variables": {
    "lrnn_blas_include%": "/usr/include/x86_64-linux-gnu/openblas-pthread",
    "lrnn_blas_lib%": "-lopenblas",
    "lrnn_mpi%": "0",
    "lrnn_mpi_cflags%": "",
    "lrnn_mpi_libs%": ""
  },
  "targets": [
    {
      "target_name": "lrnn",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('src/native').filter(f => f.endsWith('.cc')).sort().map(f => 'src/native/' + f).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(lrnn_blas_include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "OMPI_SKIP_MPICXX=1", "LRNN_WITH_MPI=<(lrnn_mpi)"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2"],
      "cflags": ["-O3", "-fno-math-errno", "-fPIC"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions", "<@(lrnn_mpi_cflags)"],
      "libraries": ["<(lrnn_blas_lib)", "-lpthread", "<@(lrnn_mpi_libs)"]
    }
  ]
}
