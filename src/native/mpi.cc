// MPI for data-parallel training (built when mpicc is found; see scripts/build-native.mjs).
// Collectives run either synchronously on the JS thread or asynchronously on one dedicated communication
// thread that takes jobs in the order JS issued them: MPI pairs collectives by call order on every rank,
// so two async all-reduces completing out of order would silently sum the wrong buffers (seen: 35/400 wrong, no error).
// A native step watchdog aborts the job when a step makes no progress, because a hung collective blocks
// the JS thread and MPI itself never times out.
#include "registry.h"

#if LRNN_WITH_MPI
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

namespace {

enum class Kind { kAllreduce, kBcast, kBarrier };

struct Job {
  Kind kind;
  float* data = nullptr;
  int64_t n = 0;
  int root = 0;
  int rc = MPI_SUCCESS;
  Napi::ObjectReference ref;  // keeps the Float32Array alive while the comm thread uses it
  Napi::Promise::Deferred deferred;
  explicit Job(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

std::mutex mu;
std::condition_variable cv;
std::deque<Job*> queue;
int inFlight = 0;  // queued or running async jobs
bool stopping = false;
std::thread comm;
Napi::ThreadSafeFunction done;
bool initialised = false, finalised = false;
int worldRank = 0, worldSize = 1;

int Run(Kind kind, float* data, int64_t n, int root) {
  switch (kind) {
    case Kind::kAllreduce:
      for (int64_t off = 0; off < n; off += INT_MAX) {
        const int count = static_cast<int>(std::min<int64_t>(INT_MAX, n - off));
        const int rc = MPI_Allreduce(MPI_IN_PLACE, data + off, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
      }
      return MPI_SUCCESS;
    case Kind::kBcast:
      for (int64_t off = 0; off < n; off += INT_MAX) {
        const int count = static_cast<int>(std::min<int64_t>(INT_MAX, n - off));
        const int rc = MPI_Bcast(data + off, count, MPI_FLOAT, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
      }
      return MPI_SUCCESS;
    case Kind::kBarrier:
      return MPI_Barrier(MPI_COMM_WORLD);
  }
  return MPI_SUCCESS;
}

void CommLoop() {
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [] { return stopping || !queue.empty(); });
      if (queue.empty()) return;
      job = queue.front();
      queue.pop_front();
    }
    job->rc = Run(job->kind, job->data, job->n, job->root);
    done.BlockingCall(job, [](Napi::Env env, Napi::Function, Job* j) {
      if (j->rc == MPI_SUCCESS) j->deferred.Resolve(env.Undefined());
      else j->deferred.Reject(Napi::Error::New(env, "MPI collective failed with code " + std::to_string(j->rc)).Value());
      j->ref.Reset();
      delete j;
      std::lock_guard<std::mutex> lock(mu);
      if (--inFlight == 0) done.Unref(env);
      cv.notify_all();
    });
  }
}

void RequireInit(const Napi::CallbackInfo& info) {
  if (!initialised || finalised) throw Napi::Error::New(info.Env(), "MPI is not initialised (call mpiInit first) or already finalised");
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int provided = 0;
  if (!initialised) {
    int already = 0;
    MPI_Initialized(&already);
    if (!already && MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
      throw Napi::Error::New(env, "MPI_Init_thread failed");
    }
    if (already) MPI_Query_thread(&provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &worldRank);
    MPI_Comm_size(MPI_COMM_WORLD, &worldSize);
    done = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "lrnn-mpi", 0, 1);
    done.Unref(env);
    comm = std::thread(CommLoop);
    initialised = true;
  } else {
    MPI_Query_thread(&provided);
  }
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(lib, &len);
  auto o = Napi::Object::New(env);
  o.Set("rank", worldRank);
  o.Set("size", worldSize);
  o.Set("threadLevel", provided == MPI_THREAD_MULTIPLE ? "MULTIPLE" : provided == MPI_THREAD_SERIALIZED ? "SERIALIZED" : provided == MPI_THREAD_FUNNELED ? "FUNNELED" : "SINGLE");
  o.Set("library", std::string(lib, static_cast<size_t>(len)));
  return o;
}

Napi::Value Collective(const Napi::CallbackInfo& info, Kind kind, bool async) {
  RequireInit(info);
  auto env = info.Env();
  float* data = nullptr;
  int64_t n = 0;
  int root = 0;
  if (kind != Kind::kBarrier) {
    data = lrnn::F32(info, 0, "buffer");
    n = static_cast<int64_t>(lrnn::Len(info, 0));
    if (kind == Kind::kBcast) root = static_cast<int>(lrnn::Int(info, 1, "root"));
  }
  if (!async) {
    // The JS thread blocks here; only pending async jobs could break ordering, so wait for them first.
    {
      std::unique_lock<std::mutex> lock(mu);
      if (inFlight > 0) {
        lock.unlock();
        throw Napi::Error::New(env, "a synchronous MPI collective was called while asynchronous ones are in flight; await them first");
      }
    }
    const int rc = Run(kind, data, n, root);
    if (rc != MPI_SUCCESS) throw Napi::Error::New(env, "MPI collective failed with code " + std::to_string(rc));
    return env.Undefined();
  }
  auto* job = new Job(env);
  job->kind = kind;
  job->data = data;
  job->n = n;
  job->root = root;
  if (kind != Kind::kBarrier) job->ref = Napi::Persistent(info[0].As<Napi::Object>());
  auto promise = job->deferred.Promise();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (inFlight++ == 0) done.Ref(env);
    queue.push_back(job);
  }
  cv.notify_all();
  return promise;
}

// --- watchdog ---------------------------------------------------------------------------------------------
std::thread dog;
std::mutex dogMu;
std::condition_variable dogCv;
bool dogRunning = false;
std::chrono::steady_clock::time_point dogDeadline;
int64_t dogTimeoutMs = 0;
std::atomic<int64_t> dogStep{-1};

void DogLoop() {
  std::unique_lock<std::mutex> lock(dogMu);
  while (dogRunning) {
    if (dogCv.wait_until(lock, dogDeadline) == std::cv_status::timeout && dogRunning &&
        std::chrono::steady_clock::now() >= dogDeadline) {
      std::fprintf(stderr,
                   "lrnn: rank %d: step %lld made no progress for %.1f s (a rank is hung or stalled inside a "
                   "collective); aborting the MPI job\n",
                   worldRank, static_cast<long long>(dogStep.load()), static_cast<double>(dogTimeoutMs) / 1000.0);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 3);
    }
  }
}

// watchdogKick(step, timeoutMs): (re)arms the watchdog for `step`; timeoutMs <= 0 stops it.
Napi::Value WatchdogKick(const Napi::CallbackInfo& info) {
  RequireInit(info);
  const int64_t step = lrnn::Int(info, 0, "step");
  const int64_t timeoutMs = lrnn::Int(info, 1, "timeoutMs");
  std::unique_lock<std::mutex> lock(dogMu);
  if (timeoutMs <= 0) {
    if (dogRunning) {
      dogRunning = false;
      dogCv.notify_all();
      lock.unlock();
      dog.join();
    }
    return info.Env().Undefined();
  }
  dogStep = step;
  dogTimeoutMs = timeoutMs;
  dogDeadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  if (!dogRunning) {
    dogRunning = true;
    dog = std::thread(DogLoop);
  }
  dogCv.notify_all();
  return info.Env().Undefined();
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  if (!initialised || finalised) return info.Env().Undefined();
  {
    std::unique_lock<std::mutex> lock(dogMu);
    if (dogRunning) {
      dogRunning = false;
      dogCv.notify_all();
      lock.unlock();
      dog.join();
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stopping = true;
  }
  cv.notify_all();
  if (comm.joinable()) comm.join();
  done.Release();
  MPI_Finalize();
  finalised = true;
  return info.Env().Undefined();
}

Napi::Value Abort(const Napi::CallbackInfo& info) {
  const int code = info.Length() > 0 ? static_cast<int>(lrnn::Int(info, 0, "code")) : 1;
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  return info.Env().Undefined();
}

Napi::Value Wtime(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), MPI_Wtime()); }

void InitMpi(Napi::Env env, Napi::Object exports) {
  exports.Set("mpiInit", Napi::Function::New(env, Init));
  exports.Set("mpiAllreduceSum", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return Collective(i, Kind::kAllreduce, false); }));
  exports.Set("mpiAllreduceSumAsync", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return Collective(i, Kind::kAllreduce, true); }));
  exports.Set("mpiBcast", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return Collective(i, Kind::kBcast, false); }));
  exports.Set("mpiBcastAsync", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return Collective(i, Kind::kBcast, true); }));
  exports.Set("mpiBarrier", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return Collective(i, Kind::kBarrier, false); }));
  exports.Set("mpiBarrierAsync", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return Collective(i, Kind::kBarrier, true); }));
  exports.Set("mpiWatchdogKick", Napi::Function::New(env, WatchdogKick));
  exports.Set("mpiFinalize", Napi::Function::New(env, Finalize));
  exports.Set("mpiAbort", Napi::Function::New(env, Abort));
  exports.Set("mpiWtime", Napi::Function::New(env, Wtime));
}

}  // namespace

LRNN_REGISTER(InitMpi);
#endif  // LRNN_WITH_MPI
