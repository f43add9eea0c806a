/* report.h: --report=FILE.json, the compile's decisions as JSON (README.md,
 * "Report format"): options, inputs and outputs, every kernel in execution
 * order (names as generated, schedule, FLOPs, traffic), the arena and the
 * weights. Keys always appear, in one fixed order, and nothing depends on
 * pointers, time or hashing, so two reports can be compared with diff. */
#ifndef JTC_DRIVER_REPORT_H
#define JTC_DRIVER_REPORT_H

#include "driver/compile.h"
#include "driver/plan_info.h"

/* 0, or -1 with one message on stderr (the file could not be written). */
int report_write(const PlanInfo *pi, const CompileOptions *o, const char *path);

/* FLOPs of kernel k as the report defines them (report.c). */
int64_t report_kernel_flops(const Kernel *k);

#endif
