// Entry point of the lrnn native addon: runs every registered init (see registry.h).
#include "registry.h"

namespace lrnn {
std::vector<InitFn>& Registry() {
  static std::vector<InitFn> fns;
  return fns;
}
}  // namespace lrnn

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (auto fn : lrnn::Registry()) fn(env, exports);
  exports.Set("withMpi", Napi::Boolean::New(env, LRNN_WITH_MPI != 0));
  return exports;
}

NODE_API_MODULE(lrnn, Init)
