/* dot.h: --dump-dot=FILE, the fused kernel graph as Graphviz (render with
 * `dot -Tsvg FILE -o FILE.svg`): kernels as boxes (generated name, ONNX ops,
 * output dtype[dims]), graph inputs as ellipses, weights as notes, graph
 * outputs as double ellipses; each edge a tensor, labelled with its bytes. */
#ifndef JTC_DRIVER_DOT_H
#define JTC_DRIVER_DOT_H

#include "driver/plan_info.h"

/* 0, or -1 with one message on stderr (the file could not be written). */
int dot_write(const PlanInfo *pi, const char *path);

#endif
