#include "worker/job_probe.h"

namespace mv::worker {

JobProbe::JobProbe(prometheus::Registry& r)
    : runs_(prometheus::BuildCounter()
                .Name("viya_mv_job_runs_total")
                .Help("Runs of scheduled jobs, by job and outcome (success, failure)")
                .Register(r)),
      consecutive_failures_(prometheus::BuildGauge()
                                .Name("viya_mv_job_consecutive_failures")
                                .Help("Failed runs of a job since its last success")
                                .Register(r)),
      last_success_(prometheus::BuildGauge()
                        .Name("viya_mv_job_last_success_timestamp_seconds")
                        .Help("When a job last succeeded (Unix time; 0: never)")
                        .Register(r)) {}

void JobProbe::Declare(const std::string& job) {
  for (const char* outcome : {"success", "failure"})
    runs_.Add({{"job", job}, {"outcome", outcome}});
  consecutive_failures_.Add({{"job", job}});
  last_success_.Add({{"job", job}});
}

void JobProbe::RunDone(const std::string& job, bool success, std::int64_t consecutive_failures,
                       double unix_seconds) {
  runs_.Add({{"job", job}, {"outcome", success ? "success" : "failure"}}).Increment();
  consecutive_failures_.Add({{"job", job}}).Set(static_cast<double>(consecutive_failures));
  if (success) last_success_.Add({{"job", job}}).Set(unix_seconds);
}

}  // namespace mv::worker
